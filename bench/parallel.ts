/**
 * Data-parallel training on a GPT whose AdamW state dominates: 8 blocks × C=256 (6.3M
 * parameters), 16-token context, batch 1 per worker, so activations are small next to the 16
 * bytes/parameter of weights, gradients and AdamW m, v.
 *
 *   node --import tsx bench/parallel.ts [--steps 8] [--rounds 2] [--json]
 *
 * Three passes:
 *   memory      DDP vs FSDP at 2 workers, 3 steps with a forced GC before every sample
 *               (`measureMemory`): "held" is counted (distinct live parameter, gradient, shard and
 *               AdamW buffers), "arrayBuffers" is measured: process.memoryUsage().arrayBuffers inside
 *               each worker's isolate (also activations, kernel scratch, the shared collective buffer).
 *   throughput  `--steps` steps of each variant: 1 worker on the global batch (2), DDP ×2 with and
 *               without the all-reduce overlapped with backward, FSDP ×2 with and without prefetch;
 *               `--rounds` rounds, the variants' order reversed every other round so load drift hits
 *               all alike; median per-step tokens/s over every round's steps from step 2 on.
 *   breakdown   per variant and rank, the median ms of each phase of a step (step-timer.ts):
 *               forward, backward, gradient communication, parameter gathers, optimiser, waiting.
 * Also the largest |Δw| between variants' final weights (overlap and prefetch must not change
 * them; DDP ×2 equals 1 worker on batch 2 to float tolerance).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GPT } from '../src/models/gpt.ts';
import { Rng } from '../src/tensor/random.ts';
import { trainCharTokenizer } from '../src/tokenizers/char.ts';
import { TokenDataset } from '../src/train/data.ts';
import { trainParallel, type ParallelMetricsRecord, type ParallelTrainSummary } from '../src/train/parallel/launch.ts';
import type { ParallelStrategy } from '../src/train/parallel/protocol.ts';
import { medianTimings, STEP_PHASES, TIMING_FIELDS } from '../src/train/parallel/step-timer.ts';
import { TRAIN_DEFAULTS, type TrainConfig } from '../src/train/trainer.ts';
import { BenchReport } from './report.ts';
import { maxWeightDifference } from '../src/nn/weight-difference.ts';

const WORKERS = 2;
const MiB = 2 ** 20;

interface Variant {
  label: string;
  workers: number;
  strategy: ParallelStrategy;
  overlap?: boolean;
  prefetch?: boolean;
}

const VARIANTS: Variant[] = [
  { label: '1 worker', workers: 1, strategy: 'ddp', overlap: false },
  { label: 'ddp x2', workers: WORKERS, strategy: 'ddp', overlap: false },
  { label: 'ddp x2 overlap', workers: WORKERS, strategy: 'ddp', overlap: true },
  { label: 'fsdp x2', workers: WORKERS, strategy: 'fsdp', prefetch: false },
  { label: 'fsdp x2 prefetch', workers: WORKERS, strategy: 'fsdp', prefetch: true },
];

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export async function run(report: BenchReport, steps = 8, rounds = 2): Promise<void> {
  const text = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8').slice(0, 50_000);
  const tokenizer = trainCharTokenizer(text);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
  const modelConfig = { vocab_size: tokenizer.vocabSize, n_layer: 8, n_embd: 256, n_head: 4, n_positions: 16 };
  const base: TrainConfig = { ...TRAIN_DEFAULTS, batchSize: 1, blockSize: 16, warmupSteps: 0, evalBatches: 1, evalInterval: 1000, steps };
  const train = async (variant: Variant, config: TrainConfig, measureMemory: boolean): Promise<{ model: GPT; summary: ParallelTrainSummary }> => {
    const model = new GPT(modelConfig, { rng: new Rng(1) });
    // One worker takes the whole global batch, so its weights are the parallel runs' and its step time compares directly.
    const batched = { ...config, batchSize: (config.batchSize * WORKERS) / variant.workers };
    const summary = await trainParallel({
      model, dataset, config: batched, workers: variant.workers, strategy: variant.strategy, outDir: null, saveModel: () => {}, measureMemory,
      overlap: variant.overlap, prefetch: variant.prefetch,
    });
    return { model, summary };
  };

  const memory = new Map<ParallelStrategy, ParallelTrainSummary>();
  for (const variant of [VARIANTS[1], VARIANTS[3]]) memory.set(variant.strategy, (await train(variant, { ...base, steps: 3 }, true)).summary);
  const params = new GPT(modelConfig, { rng: new Rng(1) }).parameters().reduce((n, p) => n + p.size, 0);
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

  const records = new Map<string, ParallelMetricsRecord[]>(VARIANTS.map((v) => [v.label, []]));
  const models = new Map<string, GPT>();
  for (let round = 0; round < rounds; round++) {
    for (const variant of round % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
      const { model, summary } = await train(variant, base, false);
      records.get(variant.label)!.push(...summary.history.slice(1));
      models.set(variant.label, model);
    }
  }
  const rate = (label: string) => median(records.get(label)!.map((r) => r.tokens_per_second));
  const name = (label: string) => `parallel ${label} step`;
  for (const { label } of VARIANTS) {
    const baseline = label === 'ddp x2 overlap' ? 'ddp x2' : label === 'fsdp x2 prefetch' ? 'fsdp x2' : label === 'fsdp x2' ? 'ddp x2' : label === 'ddp x2' ? '1 worker' : null;
    report.row({ name: name(label), shape, value: rate(label), unit: 'tokens/s', ...(baseline === null ? {} : { ratio: rate(label) / rate(baseline), baseline: name(baseline) }) });
  }
  const dw = (a: string, b: string) => maxWeightDifference(models.get(a)!, models.get(b)!);
  report.row({ name: 'parallel ddp overlap vs not max |dw|', shape, value: dw('ddp x2 overlap', 'ddp x2'), unit: 'abs' });
  report.row({ name: 'parallel fsdp prefetch vs not max |dw|', shape, value: dw('fsdp x2 prefetch', 'fsdp x2'), unit: 'abs' });
  report.row({ name: 'parallel fsdp vs ddp max |dw|', shape, value: dw('fsdp x2', 'ddp x2'), unit: 'abs' });
  report.row({ name: 'parallel ddp x2 vs 1 worker max |dw|', shape, value: dw('ddp x2', '1 worker'), unit: 'abs' });

  // Where each rank's step goes: medians per phase (they need not add up exactly to the median step).
  report.section('step breakdown, median ms per phase');
  const columns = ['step', ...STEP_PHASES];
  if (!report.json) console.log(['variant'.padEnd(18), 'rank', ...columns.map((c) => c.padStart(9))].join(' '));
  for (const { label } of VARIANTS) {
    for (const timing of medianTimings(records.get(label)!.map((r) => r.timing))) {
      const values = [timing.step_ms, ...STEP_PHASES.map((phase) => timing[TIMING_FIELDS[phase]])];
      if (report.json) columns.forEach((column, i) => report.row({ name: `parallel ${label} rank ${timing.rank} ${column}`, shape, value: values[i], unit: 'ms' }));
      else console.log([label.padEnd(18), String(timing.rank).padStart(4), ...values.map((v) => v.toFixed(1).padStart(9))].join(' '));
    }
  }
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  if (!report.json) console.log(`(load average ${loadavg}; ${rounds} rounds of ${steps} steps, medians over every round's steps from step 2)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { steps: { type: 'string', default: '8' }, rounds: { type: 'string', default: '2' }, json: { type: 'boolean', default: false } } });
  await run(new BenchReport(values.json ?? false), Number(values.steps), Number(values.rounds));
}
