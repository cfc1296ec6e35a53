/**
 * DDP vs FSDP (per-block gather) per worker at 2 workers, on a GPT whose AdamW state dominates:
 * 8 blocks × C=256 (6.3M parameters), 16-token context, batch 1 per worker, so activations are
 * small next to the 16 bytes/parameter of weights, gradients and AdamW m, v.
 *
 *   node --import tsx bench/parallel.ts [--steps 6] [--json]
 *
 * Two passes, strategies side by side in each:
 *   memory      3 steps with a forced GC before every sample (`measureMemory`): "held" is counted
 *               (distinct live parameter, gradient, shard and AdamW buffers), "arrayBuffers" is
 *               measured: process.memoryUsage().arrayBuffers inside each worker's isolate (also
 *               activations, kernel scratch, the shared collective buffer).
 *   throughput  `--steps` steps without forced GC; the median per-step tokens/s from step 2 on.
 * Also the largest |Δw| between the two strategies' final weights (the same run otherwise).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GPT } from '../src/models/gpt.ts';
import { Rng } from '../src/tensor/random.ts';
import { trainCharTokenizer } from '../src/tokenizers/char.ts';
import { TokenDataset } from '../src/train/data.ts';
import { trainParallel, type ParallelTrainSummary } from '../src/train/parallel/launch.ts';
import type { ParallelStrategy } from '../src/train/parallel/protocol.ts';
import { TRAIN_DEFAULTS, type TrainConfig } from '../src/train/trainer.ts';
import { BenchReport } from './report.ts';
import { maxWeightDifference } from '../src/nn/weight-difference.ts';

const WORKERS = 2;
const MiB = 2 ** 20;

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function run(report: BenchReport, steps = 6): Promise<void> {
  const text = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8').slice(0, 50_000);
  const tokenizer = trainCharTokenizer(text);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
  const modelConfig = { vocab_size: tokenizer.vocabSize, n_layer: 8, n_embd: 256, n_head: 4, n_positions: 16 };
  const base: TrainConfig = { ...TRAIN_DEFAULTS, batchSize: 1, blockSize: 16, warmupSteps: 0, evalBatches: 1, evalInterval: 1000, steps };
  const strategies: ParallelStrategy[] = ['ddp', 'fsdp'];
  const train = async (strategy: ParallelStrategy, config: TrainConfig, measureMemory: boolean): Promise<{ model: GPT; summary: ParallelTrainSummary }> => {
    const model = new GPT(modelConfig, { rng: new Rng(1) });
    const summary = await trainParallel({ model, dataset, config, workers: WORKERS, strategy, outDir: null, saveModel: () => {}, measureMemory });
    return { model, summary };
  };
  const memory = new Map<ParallelStrategy, ParallelTrainSummary>();
  for (const strategy of strategies) memory.set(strategy, (await train(strategy, { ...base, steps: 3 }, true)).summary);
  const speed = new Map<ParallelStrategy, { model: GPT; summary: ParallelTrainSummary }>();
  for (const strategy of strategies) speed.set(strategy, await train(strategy, base, false));

  const params = speed.get('ddp')!.model.parameters().reduce((n, p) => n + p.size, 0);
  const shape = `${(params / 1e6).toFixed(1)}M params x${WORKERS}`;
  // Per strategy, the worst rank (FSDP's shards differ by at most one element).
  const worst = (strategy: ParallelStrategy, field: 'peakHeldBytes' | 'restingHeldBytes' | 'peakArrayBufferBytes') =>
    Math.max(...memory.get(strategy)!.workerMemory.map((m) => m[field]));
  const rows: [string, 'peakHeldBytes' | 'restingHeldBytes' | 'peakArrayBufferBytes'][] = [
    ['peak held', 'peakHeldBytes'],
    ['resting held', 'restingHeldBytes'],
    ['peak arrayBuffers', 'peakArrayBufferBytes'],
  ];
  for (const [label, field] of rows) {
    report.row({ name: `parallel ddp ${label}/worker`, shape, value: worst('ddp', field) / MiB, unit: 'MiB' });
    report.row({ name: `parallel fsdp ${label}/worker`, shape, value: worst('fsdp', field) / MiB, unit: 'MiB', ratio: worst('fsdp', field) / worst('ddp', field), baseline: `parallel ddp ${label}/worker` });
  }
  const rate = (strategy: ParallelStrategy) => median(speed.get(strategy)!.summary.history.slice(1).map((r) => r.tokens_per_second));
  report.row({ name: 'parallel ddp step', shape, value: rate('ddp'), unit: 'tokens/s' });
  report.row({ name: 'parallel fsdp step', shape, value: rate('fsdp'), unit: 'tokens/s', ratio: rate('fsdp') / rate('ddp'), baseline: 'parallel ddp step' });
  report.row({ name: 'parallel fsdp vs ddp max |dw|', shape, value: maxWeightDifference(speed.get('fsdp')!.model, speed.get('ddp')!.model), unit: 'abs' });
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  if (!report.json) console.log(`(load average ${loadavg}; ${steps} steps, median tokens/s from step 2)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '6' }, json: { type: 'boolean', default: false } } });
  await run(new BenchReport(values.json ?? false), Number(values.steps));
}
