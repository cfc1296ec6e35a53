/**
 * `qkv info`: the kernel backend, SIMD level and threads (issue 10).
 */
import type { Command } from 'commander';

export function registerInfoCommand(program: Command): void {
  void program; // commands are added here
}
