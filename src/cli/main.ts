#!/usr/bin/env node
/**
 * Entry point of the `qkv` command line: a thin layer over the library. Errors that qkv raises
 * on bad input are printed as one line, not a stack.
 */
import { QkvError } from '../tensor/errors.ts';
import { buildProgram } from './program.ts';

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    // Our own errors are for users: print the message, not a stack.
    if (error instanceof QkvError) {
      console.error(`qkv: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
}

await main();
