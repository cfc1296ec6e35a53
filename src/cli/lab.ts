/**
 * `qkv lab` (issue 18).
 */
import type { Command } from 'commander';

export function registerLabCommands(program: Command): void {
  void program; // commands are added here
}
