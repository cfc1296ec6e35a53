/**
 * Adaptive softmax vs the full softmax over GPT-2's 50,257-token vocabulary (issue 17), one run:
 *
 * 1. Output layer alone: the full softmax (a (C, V) projection and cross-entropy) vs the adaptive
 *    softmax (cutoffs 2000, 10000; div 4), forward + backward on the same hidden states and the
 *    same targets.
 * 2. Whole training step of a GPT (forward + backward + clipping + AdamW) with each output layer.
 * 3. Held-out perplexity of both GPTs after the same training: the same initial body (the
 *    adaptive head is drawn after it), the same batches, the same schedule, steps interleaved so
 *    machine noise hits both alike; evaluated on the same held-out batches.
 *
 * The tokens are real: GPT-2's BPE over data/brown.txt, the tokenizer renumbered by frequency over
 * the training part of the text (src/tokenizers/frequency-sort.ts), as the adaptive softmax needs.
 * Before timing, both output layers must give a finite loss near ln V at initialisation; the
 * share of rows that reach a tail cluster is printed (Zipf's law is what makes the adaptive one cheap).
 *
 * Alone: `node --import tsx bench/adaptive-softmax.ts [--json] [--steps N]`, or
 * `node --import tsx bench/run.ts --only adaptive-softmax`.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { GPT } from '../src/models/gpt.ts';
import { AdaptiveLogSoftmaxWithLoss } from '../src/nn/adaptive-softmax.ts';
import { Linear } from '../src/nn/linear.ts';
import { AdamW, LRScheduler, clipGradNorm, warmupCosineSchedule } from '../src/optim/index.ts';
import { crossEntropy } from '../src/tensor/ops/loss.ts';
import { Rng } from '../src/tensor/random.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { frequencySortTokenizer } from '../src/tokenizers/frequency-sort.ts';
import { loadGpt2Tokenizer } from '../src/tokenizers/gpt2.ts';
import { TokenDataset, unigramCrossEntropy } from '../src/train/data.ts';
import { evaluateLoss } from '../src/train/trainer.ts';
import { BenchReport, timeMedianMs } from './report.ts';

const V = 50257;
const C = 128;
const CUTOFFS = [2000, 10000];
/** Characters of Brown used: ~330k GPT-2 tokens, quick to tokenize, far more than the training reads. */
const CORPUS_CHARS = 1_500_000;
const VALIDATION_FRACTION = 0.1;
/** Rows of the output-layer-only measurement: one bench-GPT batch, B 16 × T 128. */
const OUTPUT_ROWS = 16 * 128;

/** The GPT of the step and perplexity comparison: bench-GPT's width, 2 layers, short context. */
const MODEL = { n_layer: 2, n_embd: C, n_head: 4, n_positions: 64 } as const;
const BATCH_SIZE = 8;
const BLOCK_SIZE = 64;
const DEFAULT_STEPS = 100;
const WARMUP_STEPS = 15;
const LEARNING_RATE = 3e-3;
const EVAL_BATCHES = 16;
const SEED = 1337;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The corpus as frequency-ranked GPT-2 ids (0 = the most frequent token of the training part). */
function frequencyRankedCorpus(): Int32Array {
  const text = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8').slice(0, CORPUS_CHARS);
  const trainText = text.slice(0, Math.floor(text.length * (1 - VALIDATION_FRACTION)));
  const { tokenizer } = frequencySortTokenizer(loadGpt2Tokenizer(), trainText);
  if (tokenizer.vocabSize !== V) throw new Error(`bench adaptive-softmax: GPT-2's vocabulary has ${tokenizer.vocabSize} tokens, expected ${V}`);
  return Int32Array.from(tokenizer.encodeIds(text));
}

function checkInitialLoss(name: string, loss: number): void {
  if (!Number.isFinite(loss) || Math.abs(loss - Math.log(V)) > 3) {
    throw new Error(`bench adaptive-softmax: ${name} initial loss ${loss} is not near ln V = ${Math.log(V).toFixed(2)}`);
  }
}

/** 1. The output layers alone, forward + backward on (N, C) hidden states. */
function outputLayerRows(report: BenchReport, ranked: Int32Array): { fullMs: number; adaptiveMs: number } {
  const targets = ranked.subarray(0, OUTPUT_ROWS);
  const tailShare = targets.filter((id) => id >= CUTOFFS[0]).length / OUTPUT_ROWS;
  const rng = new Rng(0);
  const hidden = Tensor.randn([OUTPUT_ROWS, C], { rng, requiresGrad: true }); // (N, C)
  const full = new Linear(C, V, { bias: false, rng });
  const adaptive = new AdaptiveLogSoftmaxWithLoss(C, V, CUTOFFS, { divValue: 4, rng });
  const fullStep = (): number => {
    const loss = crossEntropy(full.forward(hidden), targets); // (N, V) logits
    loss.backward();
    return loss.item();
  };
  const adaptiveStep = (): number => {
    const { loss } = adaptive.forward(hidden, targets);
    loss.backward();
    return loss.item();
  };
  checkInitialLoss('full output layer', fullStep());
  checkInitialLoss('adaptive output layer', adaptiveStep());
  // Alternating, so that machine noise hits both alike; the full step takes ~a second, hence few repeats.
  const fullMs: number[] = [];
  const adaptiveMs: number[] = [];
  for (let round = 0; round < 5; round++) {
    fullMs.push(timeMedianMs(() => void fullStep(), { warmup: 0, minRuns: 1, minTimeMs: 0 }));
    adaptiveMs.push(timeMedianMs(() => void adaptiveStep(), { warmup: 0, minRuns: 3, minTimeMs: 0 }));
  }
  const shape = `N ${OUTPUT_ROWS} C ${C} V ${V}`;
  const baseline = 'output layer full softmax';
  const result = { fullMs: median(fullMs), adaptiveMs: median(adaptiveMs) };
  report.row({ name: baseline, shape, timeMs: result.fullMs, value: OUTPUT_ROWS / (result.fullMs / 1000), unit: 'tokens/s' });
  report.row({
    name: 'output layer adaptive softmax',
    shape: `${shape} tail ${(tailShare * 100).toFixed(0)}%`,
    timeMs: result.adaptiveMs,
    value: OUTPUT_ROWS / (result.adaptiveMs / 1000),
    unit: 'tokens/s',
    ratio: result.fullMs / result.adaptiveMs,
    baseline,
  });
  return result;
}

interface Trainee {
  name: string;
  model: GPT;
  params: Tensor[];
  optimizer: AdamW;
  scheduler: LRScheduler;
  stepMs: number[];
  losses: number[];
}

function trainee(name: string, model: GPT, steps: number): Trainee {
  const params = model.parameters().filter((p) => p.requiresGrad);
  // As src/train/trainer.ts: decay on matrices only.
  const optimizer = new AdamW(
    [{ params: params.filter((p) => p.ndim >= 2) }, { params: params.filter((p) => p.ndim < 2), weightDecay: 0 }],
    { lr: LEARNING_RATE, betas: [0.9, 0.99], weightDecay: 0.1 },
  );
  const warmupSteps = Math.min(WARMUP_STEPS, Math.floor(steps / 10));
  const scheduler = new LRScheduler(optimizer, warmupCosineSchedule({ maxLr: LEARNING_RATE, minLr: LEARNING_RATE / 10, warmupSteps, totalSteps: steps }));
  return { name, model, params, optimizer, scheduler, stepMs: [], losses: [] };
}

/** One training step as the trainer takes it: forward + backward + clipping + AdamW. */
function trainStep(t: Trainee, ids: Tensor, targets: Tensor): void {
  const started = performance.now();
  const loss = t.model.forward(ids, { targets }).loss!;
  loss.backward();
  clipGradNorm(t.params, 1.0);
  t.optimizer.step();
  t.optimizer.zeroGrad();
  t.scheduler.step();
  t.stepMs.push(performance.now() - started);
  t.losses.push(loss.item());
}

/** 2 and 3: the two GPTs trained side by side, then evaluated on the same held-out batches. */
function trainingRows(report: BenchReport, ranked: Int32Array, steps: number): void {
  const dataset = new TokenDataset(ranked, VALIDATION_FRACTION);
  const full = trainee('full', new GPT({ ...MODEL, vocab_size: V }, { rng: new Rng(SEED) }), steps);
  const adaptive = trainee('adaptive', new GPT({ ...MODEL, vocab_size: V, output: 'adaptive', adaptive_cutoffs: CUTOFFS, adaptive_div_value: 4 }, { rng: new Rng(SEED) }), steps);
  const evalConfig = { batchSize: BATCH_SIZE, blockSize: BLOCK_SIZE, seed: SEED };
  const initial = [full, adaptive].map((t) => evaluateLoss(t.model, dataset, evalConfig, 1));
  initial.forEach((loss, i) => checkInitialLoss(`${[full, adaptive][i].name} GPT`, loss));
  const dataRng = new Rng(SEED);
  for (let step = 0; step < steps; step++) {
    const batch = dataset.sampleBatch('train', BATCH_SIZE, BLOCK_SIZE, dataRng);
    // Which goes first alternates: neither always runs on a warmer cache.
    const order = step % 2 === 0 ? [full, adaptive] : [adaptive, full];
    for (const t of order) trainStep(t, batch.ids, batch.targets);
    if (step % 25 === 0 || step === steps - 1) {
      console.error(`step ${step}: loss full ${full.losses[step].toFixed(3)} (${full.stepMs[step].toFixed(0)} ms), adaptive ${adaptive.losses[step].toFixed(3)} (${adaptive.stepMs[step].toFixed(0)} ms)`);
    }
  }
  const tokens = BATCH_SIZE * BLOCK_SIZE;
  // The first steps allocate the pools and AdamW state: time the rest.
  const timed = (t: Trainee) => median(t.stepMs.slice(Math.min(5, steps - 1)));
  const stepShape = `B ${BATCH_SIZE} T ${BLOCK_SIZE} L ${MODEL.n_layer} C ${C}`;
  const stepBaseline = 'GPT train step full softmax';
  report.row({ name: stepBaseline, shape: stepShape, timeMs: timed(full), value: tokens / (timed(full) / 1000), unit: 'tokens/s' });
  report.row({ name: 'GPT train step adaptive softmax', shape: stepShape, timeMs: timed(adaptive), value: tokens / (timed(adaptive) / 1000), unit: 'tokens/s', ratio: timed(full) / timed(adaptive), baseline: stepBaseline });
  const [fullLoss, adaptiveLoss] = [full, adaptive].map((t) => evaluateLoss(t.model, dataset, evalConfig, EVAL_BATCHES));
  const evalShape = `${steps} steps, ${EVAL_BATCHES * tokens} tokens`;
  const pplBaseline = 'held-out perplexity full softmax';
  report.row({ name: pplBaseline, shape: evalShape, value: Math.exp(fullLoss), unit: 'ppl' });
  report.row({ name: 'held-out perplexity adaptive softmax', shape: evalShape, value: Math.exp(adaptiveLoss), unit: 'ppl', ratio: Math.exp(adaptiveLoss) / Math.exp(fullLoss), baseline: pplBaseline });
  // How far the short run got: a unigram model of the training tokens is the first thing to beat.
  const unigram = unigramCrossEntropy(dataset.train, dataset.validation, V);
  report.row({ name: 'held-out perplexity unigram baseline', shape: `${dataset.validation.length} tokens`, value: Math.exp(unigram), unit: 'ppl' });
  console.error(`held-out loss: full ${fullLoss.toFixed(4)}, adaptive ${adaptiveLoss.toFixed(4)} nats/token (at initialisation ${initial.map((l) => l.toFixed(2)).join(' / ')})`);
}

export async function run(report: BenchReport, options: { steps?: number } = {}): Promise<void> {
  const ranked = frequencyRankedCorpus();
  outputLayerRows(report, ranked);
  trainingRows(report, ranked, options.steps ?? DEFAULT_STEPS);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stepsIndex = process.argv.indexOf('--steps');
  await run(new BenchReport(process.argv.includes('--json')), stepsIndex >= 0 ? { steps: Number(process.argv[stepsIndex + 1]) } : {});
}
