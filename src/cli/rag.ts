/**
 * `qkv rag` and `qkv embed-train` (issue 14).
 */
import type { Command } from 'commander';

export function registerRagCommands(program: Command): void {
  void program; // commands are added here
}
