/**
 * `qkv eval`: held-out loss and perplexity of a model folder on a text file.
 */
import type { Command } from 'commander';
import { evaluatePerplexity } from '../eval/perplexity.ts';
import { loadCausalLM } from '../models/load.ts';
import { readTextFiles } from '../train/data.ts';
import { integerOption } from './options.ts';
import { createProgress } from './progress.ts';

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('loss (nats/token) and perplexity of a model on text files')
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--data <files...>', 'text files to evaluate on')
    .option('--block-size <n>', 'window length (default: the model context)', integerOption('--block-size', 1))
    .option('--json', 'print one JSON object: loss, perplexity, tokens')
    .action((flags: { model: string; data: string[]; blockSize?: number; json?: boolean }) => {
      const { model, tokenizer } = loadCausalLM(flags.model);
      const text = readTextFiles(flags.data);
      let progress: ReturnType<typeof createProgress> | null = null;
      const result = evaluatePerplexity(model, tokenizer, text, {
        blockSize: flags.blockSize,
        onProgress: (done, total) => {
          progress ??= createProgress({ total, silent: Boolean(flags.json) });
          progress.update(done);
        },
      });
      (progress as ReturnType<typeof createProgress> | null)?.stop();
      if (flags.json) console.log(JSON.stringify(result));
      else console.log(`loss ${result.loss.toFixed(4)} nats/token, perplexity ${result.perplexity.toFixed(2)} over ${result.tokens} tokens`);
    });
}
