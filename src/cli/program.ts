/**
 * The `qkv` program: each command lives in its own file and registers itself here.
 */
import { Command } from 'commander';
import { registerAdaptCommands } from './adapt.ts';
import { registerBertCommands } from './bert.ts';
import { registerInfoCommand } from './info.ts';
import { registerInterchangeCommands } from './interchange.ts';
import { registerLabCommands } from './lab.ts';
import { registerRagCommands } from './rag.ts';
import { registerSeq2SeqCommands } from './seq2seq.ts';
import { registerServeCommands } from './serve.ts';
import { registerAttentionCommand } from './attention.ts';
import { registerEvalCommand } from './eval.ts';
import { registerGenerateCommand } from './generate.ts';
import { registerStartCommand } from './start.ts';
import { registerTokenizerCommands } from './tokenizer.ts';
import { registerTrainCommand } from './train.ts';

export function buildProgram(): Command {
  const program = new Command('qkv')
    .description('qkv: tokenize, build, train, fine-tune, generate and inspect transformer language models in TypeScript')
    .version('0.1.0')
    .showHelpAfterError();
  registerStartCommand(program);
  registerTrainCommand(program);
  registerGenerateCommand(program);
  registerEvalCommand(program);
  registerTokenizerCommands(program);
  registerAttentionCommand(program);
  registerInfoCommand(program);
  registerBertCommands(program);
  registerSeq2SeqCommands(program);
  registerAdaptCommands(program);
  registerRagCommands(program);
  registerServeCommands(program);
  registerInterchangeCommands(program);
  registerLabCommands(program);
  return program;
}
