/**
 * The `qkv` program: each command lives in its own file and registers itself here.
 */
import { Command } from 'commander';
import { registerStartCommand } from './start.ts';

export function buildProgram(): Command {
  const program = new Command('qkv')
    .description('qkv: tokenize, build, train, fine-tune, generate and inspect transformer language models in TypeScript')
    .version('0.1.0')
    .showHelpAfterError();
  registerStartCommand(program);
  return program;
}
