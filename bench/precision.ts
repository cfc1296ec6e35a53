/**
 * fp32 vs bf16 vs fp16 training of the bench GPT (4 layers, C=128, context 128, batch 16, char
 * tokens of the Brown corpus; --layers/--embd/--heads/--batch for others), one seed, the same batches:
 *
 *   node --import tsx bench/precision.ts [--steps 120] [--rounds 2] [--speed-steps 60] [--batch 32] [--layers 8 --embd 256]
 *
 * tokens/s: --rounds child processes each train the three precisions AT ONCE, step by step in
 * turn (the trainer yields between steps), so the shared machine's load hits all three alike;
 * the median over every step from step 5 on (each step timed alone). Their losses must equal
 * the separate runs' (checked). Loss curves and memory: each precision in its own child (so
 * peak RSS is its own) for --steps steps: max |Δloss| against fp32 over the run and its last 20
 * steps; once more with a forced GC after every step (20 steps), whose peak RSS is the working
 * set rather than V8's garbage-collection timing. Each child also reports: the bytes the
 * Linear/Conv1D layers kept for backward in one step (counted,
 * src/nn/linear16.ts), its RSS before training (Node, tsx, data, model) and its peak (VmHWM),
 * and, after training, the ArrayBuffer bytes one forward's graph holds until backward (outside the
 * buffer pools, forced GC before and after; 16-bit: after releaseLinear16Activations, as the trainer
 * does), with the graph's tensors summed by the op that made them plus the 16-bit inputs the
 * products saved ('graph counted': what backward holds, counted, not subject to GC timing).
 *
 * What is 16-bit under bf16/fp16: the Linear/Conv1D weight copies, saved inputs and every operand
 * of their products (the gradient too), on the native gemm16 kernel. Not: attention, LayerNorm,
 * GELU, softmax/cross-entropy, the embedding and LM head (tied wte: a plain matmul), master
 * weights, gradients, AdamW state.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gemm16Info } from '../src/kernels/native/gemm16.ts';
import { GPT } from '../src/models/gpt.ts';
import { linear16SavedInput, linearSavedBytes, pooledLinear16Bytes, releaseLinear16Activations, resetLinearSavedBytes, withLinearPrecision } from '../src/nn/linear16.ts';
import { bufferPoolStats } from '../src/tensor/buffer-pool.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { Rng } from '../src/tensor/random.ts';
import { trainCharTokenizer } from '../src/tokenizers/char.ts';
import { TokenDataset } from '../src/train/data.ts';
import { PRECISIONS, type Precision } from '../src/train/precision.ts';
import { TRAIN_DEFAULTS, trainLanguageModel } from '../src/train/trainer.ts';

interface OneRun {
  precision: Precision;
  losses: number[];
  /** tokens/s of each step from step 5 on. */
  speeds: number[];
  linearSavedBytesPerStep: number;
  startRssBytes: number;
  peakRssBytes: number;
  /** ArrayBuffer bytes a forward's graph holds until backward (GC'd before and after). */
  graphHeldBytes: number;
  /** The graph's intermediate tensors' bytes by producing op (the 16-bit copies are not tensors: in linear16). */
  heldByOp: Record<string, number>;
  skippedSteps: number;
}

const MiB = 2 ** 20;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** VmHWM from /proc (Linux): this process's own peak, fresh at exec. */
function peakRss(): number {
  const kib = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kib === undefined ? process.resourceUsage().maxRSS * 1024 : Number(kib) * 1024;
}

/** The model and batch size, from the command line (children get the same flags). */
const shapeFlags = { layers: '4', embd: '128', heads: '4', batch: '16' };

function benchSetup(): { dataset: TokenDataset; model: GPT } {
  const text = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8').slice(0, 400_000);
  const tokenizer = trainCharTokenizer(text);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: Number(shapeFlags.layers), n_embd: Number(shapeFlags.embd), n_head: Number(shapeFlags.heads), n_positions: 128 }, { rng: new Rng(1) });
  return { dataset, model };
}

/** warmupSteps is given, not min(20, steps): the interleaved run (fewer steps) must warm up as the curves do. */
const benchConfig = (steps: number, warmupSteps: number) =>
  ({ ...TRAIN_DEFAULTS, steps, batchSize: Number(shapeFlags.batch), blockSize: 128, warmupSteps, evalInterval: 10 * steps, evalBatches: 1, seed: 7 });

/** The three precisions trained concurrently, one step each in turn: per-step tokens/s and losses. */
async function runInterleaved(steps: number, warmupSteps: number): Promise<Record<Precision, { speeds: number[]; losses: number[] }>> {
  const results = Object.fromEntries(PRECISIONS.map((p) => [p, { speeds: [] as number[], losses: [] as number[] }])) as Record<Precision, { speeds: number[]; losses: number[] }>;
  await Promise.all(PRECISIONS.map((precision) => {
    const { dataset, model } = benchSetup();
    return trainLanguageModel({
      model, dataset, outDir: null, saveModel: () => {}, precision, config: benchConfig(steps, warmupSteps),
      hooks: {
        onStep(record) {
          results[precision].losses.push(record.loss);
          if (record.step >= 5) results[precision].speeds.push(record.tokens_per_second);
        },
      },
    });
  }));
  return results;
}

async function runOne(precision: Precision, steps: number, warmupSteps: number, gcEachStep: boolean): Promise<OneRun> {
  const { dataset, model } = benchSetup();
  const collect = (globalThis as { gc?: () => void }).gc;
  const losses: number[] = [];
  const speeds: number[] = [];
  let savedPerStep = 0;
  const startRssBytes = process.memoryUsage().rss;
  resetLinearSavedBytes();
  const summary = await trainLanguageModel({
    model, dataset, outDir: null, saveModel: () => {}, precision,
    config: benchConfig(steps, warmupSteps),
    hooks: {
      onStep(record) {
        if (gcEachStep) collect?.();
        losses.push(record.loss);
        if (record.step >= 5) speeds.push(record.tokens_per_second);
        if (record.step === 1) savedPerStep = linearSavedBytes(); // one step's count (forward only counts)
      },
    },
  });
  const peakRssBytes = peakRss();
  // One more forward, its graph kept: what it holds for backward (as the trainer's step does it,
  // 16-bit: after releaseLinear16Activations), not counting what waits in the buffer pools.
  const gc = (globalThis as { gc?: () => void }).gc;
  let graphHeldBytes = NaN;
  let heldByOp: Record<string, number> = {};
  if (gc !== undefined) {
    const batch = dataset.sampleBatch('train', Number(shapeFlags.batch), 128, new Rng(99));
    const outsidePools = () => process.memoryUsage().arrayBuffers - bufferPoolStats().pooledBytes - pooledLinear16Bytes();
    gc();
    const before = outsidePools();
    withLinearPrecision(precision, () => {
      const loss = model.forward(batch.ids, { targets: batch.targets }).loss!;
      const released = precision === 'fp32' ? [] : releaseLinear16Activations(loss);
      gc();
      graphHeldBytes = outsidePools() - before;
      heldByOp = bytesByProducer(loss, new Set(released));
      loss.backward({ releaseActivations: true, keep: released });
    }, { recycle: true });
  }
  return { precision, losses, speeds, linearSavedBytesPerStep: savedPerStep, startRssBytes, peakRssBytes, graphHeldBytes, heldByOp, skippedSteps: summary.skippedSteps ?? 0 };
}

/** Bytes of the graph's intermediate tensors by the op that made them (each buffer once; `released` ones not). */
function bytesByProducer(root: Tensor, released: Set<Tensor>): Record<string, number> {
  const bytes: Record<string, number> = {};
  const buffers = new Set<ArrayBufferLike>();
  const visited = new Set<Tensor>([root]);
  const stack = [root];
  while (stack.length > 0) {
    const tensor = stack.pop()!;
    if (tensor.gradFn === null) continue;
    if (!released.has(tensor) && !buffers.has(tensor.data.buffer)) {
      buffers.add(tensor.data.buffer);
      bytes[tensor.gradFn.name] = (bytes[tensor.gradFn.name] ?? 0) + tensor.data.buffer.byteLength;
    }
    const saved16 = linear16SavedInput(tensor); // the product's 16-bit input copy: not a tensor, held by its closure
    if (saved16 !== null) bytes['linear16 saved 16-bit inputs'] = (bytes['linear16 saved 16-bit inputs'] ?? 0) + saved16.byteLength;
    for (const input of tensor.gradFn.inputs) if (!visited.has(input)) { visited.add(input); stack.push(input); }
  }
  return bytes;
}

function child<T>(args: string[]): T {
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (run.status !== 0) throw new Error(`bench/precision ${args.join(' ')} failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as T;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '120' }, rounds: { type: 'string', default: '2' }, 'speed-steps': { type: 'string', default: '60' },
      one: { type: 'string' }, gc: { type: 'boolean', default: false }, interleaved: { type: 'boolean', default: false },
      warmup: { type: 'string' },
      layers: { type: 'string', default: shapeFlags.layers }, embd: { type: 'string', default: shapeFlags.embd },
      heads: { type: 'string', default: shapeFlags.heads }, batch: { type: 'string', default: shapeFlags.batch },
    },
  });
  Object.assign(shapeFlags, { layers: values.layers, embd: values.embd, heads: values.heads, batch: values.batch });
  const shapeArgs = Object.entries(shapeFlags).flatMap(([name, value]) => [`--${name}`, value]);
  const steps = Number(values.steps);
  // One warm-up for the curves and the interleaved run (at most either's length): the same lr over it.
  const warmupSteps = values.warmup === undefined ? Math.min(20, steps, Number(values['speed-steps'])) : Number(values.warmup);
  if (values.one !== undefined) {
    process.stdout.write(`${JSON.stringify(await runOne(values.one as Precision, steps, warmupSteps, values.gc))}\n`);
    return;
  }
  if (values.interleaved) {
    process.stdout.write(`${JSON.stringify(await runInterleaved(steps, warmupSteps))}\n`);
    return;
  }
  const rounds = Number(values.rounds);
  const speedSteps = Number(values['speed-steps']);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const speeds = new Map<Precision, number[]>(PRECISIONS.map((p) => [p, []]));
  let interleavedLosses: Record<Precision, number[]> | null = null;
  for (let round = 0; round < rounds; round++) {
    const run = child<Record<Precision, { speeds: number[]; losses: number[] }>>(['--interleaved', '--steps', String(speedSteps), '--warmup', String(warmupSteps), ...shapeArgs]);
    for (const precision of PRECISIONS) speeds.get(precision)!.push(...run[precision].speeds);
    interleavedLosses ??= Object.fromEntries(PRECISIONS.map((p) => [p, run[p].losses])) as Record<Precision, number[]>;
  }
  const loadMid = readFileSync('/proc/loadavg', 'utf8').trim();
  const curves = new Map<Precision, OneRun>(PRECISIONS.map((p) => [p, child<OneRun>(['--one', p, '--steps', String(steps), '--warmup', String(warmupSteps), ...shapeArgs])]));
  const gcPeaks = new Map<Precision, number>(PRECISIONS.map((p) => [p, child<OneRun>(['--one', p, '--steps', '20', '--warmup', String(warmupSteps), '--gc', ...shapeArgs]).peakRssBytes]));
  // Interleaving must change nothing but the timing: the same losses as each precision alone
  // over the warm-up (after it the cosine schedule depends on the run's length, which differs).
  const sameSchedule = Math.min(warmupSteps, steps, speedSteps);
  for (const precision of PRECISIONS) {
    interleavedLosses![precision].forEach((loss, i) => {
      if (i < sameSchedule && loss !== curves.get(precision)!.losses[i]) throw new Error(`${precision} step ${i + 1}: interleaved loss ${loss} ≠ alone ${curves.get(precision)!.losses[i]}`);
    });
  }
  const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();
  const fp32 = curves.get('fp32')!;
  const fp32Speed = median(speeds.get('fp32')!);
  const info = gemm16Info();
  console.log(`GPT ${shapeFlags.layers}L C=${shapeFlags.embd} NH=${shapeFlags.heads} ctx128 B=${shapeFlags.batch}, seed 7: loss curves over ${steps} steps; tokens/s median of ${rounds}×${speedSteps - 4} interleaved steps`);
  console.log(`gemm16: bf16 ${info?.bf16 ?? 'not built (widening fallback)'}, fp16 ${info?.fp16 ?? '-'};  load before: ${loadBefore};  after speed: ${loadMid};  after: ${loadAfter}`);
  const header = ['precision', 'tokens/s', 'vs fp32', 'final loss', 'max|Δloss|', '(last 20)', 'skipped', 'linear saved MiB', 'graph counted MiB', 'graph held MiB', 'RSS start MiB', 'peak RSS MiB', 'peak − start', 'peak RSS, GC each step'];
  console.log(header.join(' | '));
  for (const precision of PRECISIONS) {
    const run = curves.get(precision)!;
    const deltas = run.losses.map((loss, i) => Math.abs(loss - fp32.losses[i]));
    const speed = median(speeds.get(precision)!);
    const peak = run.peakRssBytes;
    console.log([
      precision,
      speed.toFixed(0),
      `${(speed / fp32Speed).toFixed(2)}x`,
      run.losses.at(-1)!.toFixed(4),
      Math.max(...deltas).toFixed(4),
      Math.max(...deltas.slice(-20)).toFixed(4),
      String(run.skippedSteps),
      (run.linearSavedBytesPerStep / MiB).toFixed(1),
      (Object.values(run.heldByOp).reduce((a, b) => a + b, 0) / MiB).toFixed(1),
      (run.graphHeldBytes / MiB).toFixed(1),
      (run.startRssBytes / MiB).toFixed(0),
      (peak / MiB).toFixed(0),
      ((peak - run.startRssBytes) / MiB).toFixed(0),
      (gcPeaks.get(precision)! / MiB).toFixed(0),
    ].join(' | '));
  }
  for (const precision of PRECISIONS) {
    const top = Object.entries(curves.get(precision)!.heldByOp).sort((a, b) => b[1] - a[1]).slice(0, 9);
    console.log(`${precision} graph tensors by op (MiB): ${top.map(([op, bytes]) => `${op} ${(bytes / MiB).toFixed(1)}`).join(', ')}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
