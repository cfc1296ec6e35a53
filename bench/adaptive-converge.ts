/**
 * Issue 17: held-out perplexity of the adaptive softmax vs the full softmax after the same
 * converged training (goal: within 2%). bench/adaptive-softmax.ts measures speed and a short
 * 100-step run; this one trains long enough for the perplexities to settle, so it is not part of
 * `npm run bench` (it takes ~15 min of full-softmax training plus the adaptive runs).
 *
 * Same model body (same seed: the adaptive head is drawn after the body), same batches (the same
 * data seed), same warmup-cosine schedule, same step count; trained one after the other (full,
 * adaptive div 4, adaptive div 2), so each run is timed alone. The step count is sized from the
 * full softmax's measured step: as many steps as `--minutes` (default 15) of full training allow.
 * Held-out loss is evaluated on the same validation batches every tenth of the run (the curves)
 * and at the end on more batches (the figure).
 *
 * `--variants full,div4,div2` (the default: all three, one after the other) runs only some; on a
 * shared machine the full run and the adaptive runs can go in two processes side by side, with the
 * same `--steps` (each run's curve and figure depend only on its seed, batches and steps, not on
 * what runs beside it; the step times do, so bench/adaptive-softmax.ts is the speed figure).
 *
 * `node --import tsx bench/adaptive-converge.ts [--minutes M] [--steps N] [--variants full,div4,div2] [--out FILE.json]`
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { GPT } from '../src/models/gpt.ts';
import { AdamW, LRScheduler, clipGradNorm, warmupCosineSchedule } from '../src/optim/index.ts';
import { Rng } from '../src/tensor/random.ts';
import { frequencySortTokenizer } from '../src/tokenizers/frequency-sort.ts';
import { loadGpt2Tokenizer } from '../src/tokenizers/gpt2.ts';
import { TokenDataset, unigramCrossEntropy } from '../src/train/data.ts';
import { evaluateLoss } from '../src/train/trainer.ts';

const V = 50257;
const CUTOFFS = [2000, 10000];
const VALIDATION_FRACTION = 0.1;
/** Small enough that ~15 min of full-softmax steps reach a plateau on 2 shared cores. */
const MODEL = { n_layer: 2, n_embd: 64, n_head: 4, n_positions: 64 } as const;
/** 8 × 64 = 512 rows per step. */
const BATCH_SIZE = 8;
const BLOCK_SIZE = 64;
const LEARNING_RATE = 3e-3;
const CURVE_POINTS = 10;
const CURVE_EVAL_BATCHES = 16;
const FINAL_EVAL_BATCHES = 64;
const SEED = 1337;

type Variant = { name: string; output: 'full' } | { name: string; output: 'adaptive'; divValue: number };

interface RunResult {
  name: string;
  steps: number;
  medianStepMs: number;
  /** (step, train loss averaged over the last stretch, held-out loss). */
  curve: { step: number; trainLoss: number; heldOutLoss: number }[];
  heldOutLoss: number;
  heldOutPerplexity: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The whole Brown corpus as frequency-ranked GPT-2 ids (ranked over the training part only). */
function frequencyRankedCorpus(): Int32Array {
  const text = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8');
  const trainText = text.slice(0, Math.floor(text.length * (1 - VALIDATION_FRACTION)));
  const { tokenizer } = frequencySortTokenizer(loadGpt2Tokenizer(), trainText);
  if (tokenizer.vocabSize !== V) throw new Error(`bench adaptive-converge: GPT-2's vocabulary has ${tokenizer.vocabSize} tokens, expected ${V}`);
  return Int32Array.from(tokenizer.encodeIds(text));
}

function buildModel(variant: Variant): GPT {
  const config = variant.output === 'full'
    ? { ...MODEL, vocab_size: V }
    : { ...MODEL, vocab_size: V, output: 'adaptive' as const, adaptive_cutoffs: CUTOFFS, adaptive_div_value: variant.divValue };
  return new GPT(config, { rng: new Rng(SEED) });
}

function optimiserFor(model: GPT, steps: number): { params: ReturnType<GPT['parameters']>; optimizer: AdamW; scheduler: LRScheduler } {
  const params = model.parameters().filter((p) => p.requiresGrad);
  // As src/train/trainer.ts: decay on matrices only.
  const optimizer = new AdamW(
    [{ params: params.filter((p) => p.ndim >= 2) }, { params: params.filter((p) => p.ndim < 2), weightDecay: 0 }],
    { lr: LEARNING_RATE, betas: [0.9, 0.99], weightDecay: 0.1 },
  );
  const warmupSteps = Math.max(1, Math.floor(steps / 20));
  const scheduler = new LRScheduler(optimizer, warmupCosineSchedule({ maxLr: LEARNING_RATE, minLr: LEARNING_RATE / 10, warmupSteps, totalSteps: steps }));
  return { params, optimizer, scheduler };
}

/** Median step time of the full softmax over a few steps, on a throwaway model. */
function measureFullStepMs(dataset: TokenDataset): number {
  const model = buildModel({ name: 'full', output: 'full' });
  const { params, optimizer } = optimiserFor(model, 100);
  const rng = new Rng(SEED + 99);
  const times: number[] = [];
  for (let i = 0; i < 6; i++) {
    const batch = dataset.sampleBatch('train', BATCH_SIZE, BLOCK_SIZE, rng);
    const started = performance.now();
    model.forward(batch.ids, { targets: batch.targets }).loss!.backward();
    clipGradNorm(params, 1.0);
    optimizer.step();
    optimizer.zeroGrad();
    times.push(performance.now() - started);
  }
  return median(times.slice(1));
}

function train(variant: Variant, dataset: TokenDataset, steps: number): RunResult {
  const model = buildModel(variant);
  const { params, optimizer, scheduler } = optimiserFor(model, steps);
  const evalConfig = { batchSize: BATCH_SIZE, blockSize: BLOCK_SIZE, seed: SEED };
  const dataRng = new Rng(SEED);
  const stepMs: number[] = [];
  const curve: RunResult['curve'] = [];
  const every = Math.max(1, Math.floor(steps / CURVE_POINTS));
  let stretch: number[] = [];
  for (let step = 0; step < steps; step++) {
    const batch = dataset.sampleBatch('train', BATCH_SIZE, BLOCK_SIZE, dataRng);
    const started = performance.now();
    const loss = model.forward(batch.ids, { targets: batch.targets }).loss!;
    loss.backward();
    clipGradNorm(params, 1.0);
    optimizer.step();
    optimizer.zeroGrad();
    scheduler.step();
    stepMs.push(performance.now() - started);
    stretch.push(loss.item());
    if ((step + 1) % every === 0 || step === steps - 1) {
      const heldOutLoss = evaluateLoss(model, dataset, evalConfig, CURVE_EVAL_BATCHES);
      const trainLoss = stretch.reduce((a, b) => a + b, 0) / stretch.length;
      curve.push({ step: step + 1, trainLoss, heldOutLoss });
      stretch = [];
      console.error(`${variant.name} step ${step + 1}/${steps}: train ${trainLoss.toFixed(3)} held-out ${heldOutLoss.toFixed(3)} (ppl ${Math.exp(heldOutLoss).toFixed(1)}), step ${median(stepMs.slice(-every)).toFixed(0)} ms`);
    }
  }
  const heldOutLoss = evaluateLoss(model, dataset, evalConfig, FINAL_EVAL_BATCHES);
  return { name: variant.name, steps, medianStepMs: median(stepMs.slice(Math.min(5, steps - 1))), curve, heldOutLoss, heldOutPerplexity: Math.exp(heldOutLoss) };
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

export async function main(): Promise<void> {
  const minutes = Number(argument('--minutes') ?? 15);
  const ranked = frequencyRankedCorpus();
  const dataset = new TokenDataset(ranked, VALIDATION_FRACTION);
  const fixedSteps = argument('--steps');
  const steps = fixedSteps !== undefined ? Number(fixedSteps) : Math.max(50, Math.floor((minutes * 60_000) / measureFullStepMs(dataset)));
  console.error(`corpus ${ranked.length} tokens; ${steps} steps (${((steps * BATCH_SIZE * BLOCK_SIZE) / dataset.train.length).toFixed(2)} epochs)`);
  const allVariants: Record<string, Variant> = {
    full: { name: 'full', output: 'full' },
    div4: { name: 'adaptive div 4', output: 'adaptive', divValue: 4 },
    div2: { name: 'adaptive div 2', output: 'adaptive', divValue: 2 },
  };
  const variants = (argument('--variants') ?? 'full,div4,div2').split(',').map((key) => {
    const variant = allVariants[key];
    if (variant === undefined) throw new Error(`bench adaptive-converge: --variants takes ${Object.keys(allVariants).join(', ')}; got ${JSON.stringify(key)}`);
    return variant;
  });
  const results: RunResult[] = [];
  const outPath = argument('--out');
  const unigram = Math.exp(unigramCrossEntropy(dataset.train, dataset.validation, V));
  for (const variant of variants) {
    results.push(train(variant, dataset, steps));
    const full = results[0];
    const summary = {
      model: MODEL, vocab: V, cutoffs: CUTOFFS, batch: `${BATCH_SIZE}x${BLOCK_SIZE}`, steps, unigramPerplexity: unigram,
      results: results.map((r) => (full.name === 'full' ? { ...r, perplexityRatioToFull: r.heldOutPerplexity / full.heldOutPerplexity, stepSpeedupVsFull: full.medianStepMs / r.medianStepMs } : r)),
    };
    if (outPath !== undefined) {
      writeFileSync(`${outPath}.tmp`, JSON.stringify(summary, null, 2));
      renameSync(`${outPath}.tmp`, outPath);
    }
  }
  for (const r of results) {
    const ratio = results[0].name === 'full' ? `  ratio to full ${(r.heldOutPerplexity / results[0].heldOutPerplexity).toFixed(4)}` : '';
    console.log(`${r.name.padEnd(16)} held-out ppl ${r.heldOutPerplexity.toFixed(2).padStart(9)}${ratio}  step ${r.medianStepMs.toFixed(0)} ms`);
  }
  console.log(`unigram baseline held-out ppl ${unigram.toFixed(1)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
