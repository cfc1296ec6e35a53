/**
 * fp32 vs bf16 vs fp16 training of the bench GPT (4 layers, C=128, context 128, batch 16, char
 * tokens of the Brown corpus), one seed, the same batches:
 *
 *   node --import tsx bench/precision.ts [--steps 200]
 *
 * Each precision runs in its own child process (so peak RSS is its own), and reports: the loss
 * of every step (max |Δloss| against fp32 over the run and over the last 20 steps), the bytes the
 * Linear/Conv1D layers kept for backward in one step (counted: src/nn/linear16.ts), peak RSS
 * (measured) and the median tokens/s of steps 5 on.
 *
 * What is 16-bit under bf16/fp16: the Linear/Conv1D weight copies and saved inputs, and those
 * products' operands. Not: attention, LayerNorm, GELU, softmax/cross-entropy, the embedding and
 * LM head (tied wte: a plain matmul), master weights, gradients, AdamW state.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GPT } from '../src/models/gpt.ts';
import { linearSavedBytes, resetLinearSavedBytes } from '../src/nn/linear16.ts';
import { Rng } from '../src/tensor/random.ts';
import { trainCharTokenizer } from '../src/tokenizers/char.ts';
import { TokenDataset } from '../src/train/data.ts';
import { PRECISIONS, type Precision } from '../src/train/precision.ts';
import { TRAIN_DEFAULTS, trainLanguageModel } from '../src/train/trainer.ts';

interface OneRun {
  precision: Precision;
  losses: number[];
  tokensPerSecond: number;
  linearSavedBytesPerStep: number;
  peakRssBytes: number;
}

const MiB = 2 ** 20;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function runOne(precision: Precision, steps: number): Promise<OneRun> {
  const text = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8').slice(0, 400_000);
  const tokenizer = trainCharTokenizer(text);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 4, n_embd: 128, n_head: 4, n_positions: 128 }, { rng: new Rng(1) });
  const losses: number[] = [];
  const speeds: number[] = [];
  let savedPerStep = 0;
  resetLinearSavedBytes();
  const summary = await trainLanguageModel({
    model, dataset, outDir: null, saveModel: () => {}, precision,
    config: { ...TRAIN_DEFAULTS, steps, batchSize: 16, blockSize: 128, warmupSteps: Math.min(20, steps), evalInterval: 10 * steps, evalBatches: 1, seed: 7 },
    hooks: {
      onStep(record) {
        losses.push(record.loss);
        if (record.step >= 5) speeds.push(record.tokens_per_second);
        if (record.step === 1) savedPerStep = linearSavedBytes(); // one step's count (forward only counts)
      },
    },
  });
  return { precision, losses, tokensPerSecond: median(speeds), linearSavedBytesPerStep: savedPerStep, peakRssBytes: summary.peakRssBytes };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '200' }, one: { type: 'string' } } });
  const steps = Number(values.steps);
  if (values.one !== undefined) {
    process.stdout.write(`${JSON.stringify(await runOne(values.one as Precision, steps))}\n`);
    return;
  }
  const runs = PRECISIONS.map((precision) => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', precision, '--steps', String(steps)], { encoding: 'utf8', maxBuffer: 64 * MiB });
    if (child.status !== 0) throw new Error(`bench/precision ${precision} failed: ${child.stderr}`);
    return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as OneRun;
  });
  const fp32 = runs[0];
  console.log(`bench GPT 4L C=128 ctx128 B=16, ${steps} steps, seed 7`);
  for (const run of runs) {
    const deltas = run.losses.map((loss, i) => Math.abs(loss - fp32.losses[i]));
    const last = deltas.slice(-20);
    console.log([
      run.precision.padEnd(5),
      `final loss ${run.losses.at(-1)!.toFixed(4)}`,
      `max|Δloss| ${Math.max(...deltas).toFixed(4)} (last 20: ${Math.max(...last).toFixed(4)})`,
      `linear saved ${(run.linearSavedBytesPerStep / MiB).toFixed(1)} MiB/step`,
      `peak RSS ${(run.peakRssBytes / MiB).toFixed(0)} MiB`,
      `${run.tokensPerSecond.toFixed(0)} tokens/s`,
    ].join('  '));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
