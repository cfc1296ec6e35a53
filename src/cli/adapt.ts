/**
 * `qkv finetune`, `qkv merge`, `qkv reward`, `qkv align` (issue 13).
 */
import type { Command } from 'commander';

export function registerAdaptCommands(program: Command): void {
  void program; // commands are added here
}
