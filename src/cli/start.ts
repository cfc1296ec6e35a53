/**
 * `qkv start` (what `npm start` runs): the main job on the embedded default. It trains a
 * byte-level BPE tokenizer (1024 tokens) and a small GPT on the shipped Brown Corpus text
 * (data/brown.txt) for a few minutes, prints the held-out loss against the unigram baseline,
 * saves the model folder (runs/start) and generates a sample from it.
 */
import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { generateText } from '../generate/lm.ts';
import { getKernelInfo } from '../kernels/index.ts';
import { defaultRunDir } from '../train/run.ts';
import type { TrainConfig } from '../train/trainer.ts';
import { integerOption } from './options.ts';
import { trainWithProgress } from './train.ts';

/** The shipped corpus, found from this file so `npm start` works from any directory. */
export const DEFAULT_CORPUS = fileURLToPath(new URL('../../data/brown.txt', import.meta.url));

/**
 * The main job's settings: the `small` model (4 layers, n_embd 128, 4 heads) on windows of 64
 * BPE tokens (~200 characters). Subword tokens make a few minutes of training read as words;
 * a character-level model of the same size and time samples letter soup.
 */
export const START_VOCAB_SIZE = 1024;

export const START_TRAINING: Partial<TrainConfig> = {
  steps: 2800,
  batchSize: 16,
  blockSize: 64,
  learningRate: 2e-3,
  minLearningRate: 2e-4,
  warmupSteps: 30,
  evalInterval: 300,
  evalBatches: 8,
};

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('the main job (npm start): train a small GPT on the shipped corpus, then generate from it')
    .option('--steps <n>', 'optimiser steps', integerOption('--steps', 1), START_TRAINING.steps)
    .option('--out <dir>', 'model folder to write', defaultRunDir('start'))
    .option('--prompt <text>', 'prompt for the sample', 'The ')
    .option('--json', 'print one JSON summary instead of text')
    .action(async (flags: { steps: number; out: string; prompt: string; json?: boolean }) => {
      const log = flags.json ? () => {} : (line: string) => console.log(line);
      const kernels = getKernelInfo();
      log(`qkv: training a BPE tokenizer (${START_VOCAB_SIZE} tokens) and a GPT (4 layers, n_embd 128, 4 heads) on ${DEFAULT_CORPUS}`);
      log(`kernels: ${kernels.backend}${kernels.simd ? ` (${kernels.simd} SIMD)` : ''}, ${kernels.threads} thread(s)`);
      const result = await trainWithProgress({
        dataFiles: [DEFAULT_CORPUS],
        preset: 'small',
        train: { ...START_TRAINING, steps: flags.steps, warmupSteps: Math.min(START_TRAINING.warmupSteps!, Math.floor(flags.steps / 10)) },
        tokenizer: 'bpe',
        vocabSize: START_VOCAB_SIZE,
        outDir: flags.out,
        silent: Boolean(flags.json),
        log,
      });
      const sample = await generateText({
        model: result.model,
        tokenizer: result.tokenizer,
        prompt: flags.prompt,
        config: { max_new_tokens: 300, do_sample: true, temperature: 0.8, top_k: 40, seed: 1 },
      });
      log(`\nsample (temperature 0.8, top-k 40, ${sample.tokensPerSecond.toFixed(0)} tokens/s):\n${flags.prompt}${sample.text}\n`);
      log(`try: npx qkv generate --model ${flags.out} --prompt "${flags.prompt.trim()}"`);
      if (flags.json) {
        console.log(JSON.stringify({
          out: flags.out,
          steps: result.summary.steps,
          val_loss: result.summary.finalValLoss,
          unigram_loss: result.unigramLoss,
          tokens_per_second: result.summary.tokensPerSecond,
          wall_time_s: result.summary.wallTimeSeconds,
          sample: sample.text,
        }));
      }
    });
}
