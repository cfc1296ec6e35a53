/**
 * Runs the `qkv` program in-process for the CLI tests and returns what it printed to stdout.
 * Every command gets exitOverride (a bad flag throws instead of exiting) and a silent stderr.
 */
import { buildProgram } from '../../src/cli/program.ts';

export async function runCli(args: string[]): Promise<string> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    const program = buildProgram();
    // Subcommands exist already, so they do not inherit these: set them on each.
    for (const command of [program, ...program.commands]) command.exitOverride().configureOutput({ writeErr: () => {} });
    await program.parseAsync(args, { from: 'user' });
  } finally {
    console.log = original;
  }
  return lines.join('\n');
}
