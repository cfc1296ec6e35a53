/**
 * `qkv seq2seq` and `qkv metrics` (issue 12).
 */
import type { Command } from 'commander';

export function registerSeq2SeqCommands(program: Command): void {
  void program; // commands are added here
}
