/**
 * `qkv serve` and `qkv chat` (issue 15).
 */
import type { Command } from 'commander';

export function registerServeCommands(program: Command): void {
  void program; // commands are added here
}
