/**
 * `qkv bert`, `qkv classify`, `qkv embed`, `qkv calibrate` (issue 11).
 */
import type { Command } from 'commander';

export function registerBertCommands(program: Command): void {
  void program; // commands are added here
}
