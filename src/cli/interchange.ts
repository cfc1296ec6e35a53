/**
 * `qkv export`, `qkv quantize`, `qkv prune` (issue 16).
 */
import type { Command } from 'commander';

export function registerInterchangeCommands(program: Command): void {
  void program; // commands are added here
}
