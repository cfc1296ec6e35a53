/**
 * Compression and interchange (issue 16), one run:
 *
 * 1. A GPT-2 124M-shaped model (12 layers, n_embd 768, 12 heads, GPT-2's 50257-token tokenizer,
 *    random weights): size and greedy decoding tokens/s at f32, q8_0 and q4_0, in qkv and in
 *    llama.cpp (node-llama-cpp, CPU, 2 threads), both reading the same GGUF file (qkv through
 *    `loadGgufModel`, its quantised matrices kept packed, multiplied by the native quantised
 *    kernels). Decode rate = DECODE_TOKENS tokens after the prompt, prompt processing excluded,
 *    median of REPEATS; qkv's and llama.cpp's repeats alternate (one machine load for both).
 *    At q8_0 also the decoding process's RSS and tokens/s with the token lookup on the packed tied
 *    head against a float table beside it (bench/compress-rss.ts).
 * 2. A small GPT trained here on data/brown.txt: held-out loss / perplexity per format
 *    (f32, q8_0, q4_0, q4_g128), the sparsity-vs-loss curve of global magnitude pruning (and one
 *    point fine-tuned), and heads removed vs loss and decoding speed.
 *
 * Alone: `node --import tsx bench/run.ts --only compress [--json]`.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quantizeModel } from '../src/compress/quantize-model.ts';
import { fineTunePruned, magnitudePrune } from '../src/compress/prune-magnitude.ts';
import { headImportance, headImportanceGradient, leastImportantHeads, pruneHeads } from '../src/compress/prune-heads.ts';
import type { QuantFormat } from '../src/compress/formats.ts';
import { modelStep } from '../src/generate/lm.ts';
import { exportGguf, loadGgufModel, type GgufExportType } from '../src/io/gguf-model.ts';
import { GPT } from '../src/models/gpt.ts';
import type { CausalLM } from '../src/models/causal-lm.ts';
import { Rng } from '../src/tensor/random.ts';
import { loadGpt2Tokenizer } from '../src/tokenizers/gpt2.ts';
import { trainBpe } from '../src/tokenizers/bpe-trainer.ts';
import type { Tokenizer } from '../src/tokenizers/tokenizer.ts';
import { TokenDataset } from '../src/train/data.ts';
import { evaluateLoss, trainLanguageModel, TRAIN_DEFAULTS } from '../src/train/trainer.ts';
import { rssRows } from './compress-rss.ts';
import { type BenchReport } from './report.ts';

const DECODE_TOKENS = 16;
const REPEATS = 5;
const PROMPT = 'The jury said that the city';
const CORPUS = fileURLToPath(new URL('../data/brown.txt', import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** One qkv greedy decode with the KV cache: tokens/s over DECODE_TOKENS − 1 steps after the prompt. */
function qkvDecodeOnce(model: CausalLM, promptIds: number[]): { rate: number; ids: number[] } {
  const step = modelStep(model, true);
  const ids = [...promptIds];
  ids.push(argmax(step(ids))); // prompt processing, not timed
  const started = performance.now();
  for (let i = 1; i < DECODE_TOKENS; i++) ids.push(argmax(step(ids)));
  return { rate: ((DECODE_TOKENS - 1) / (performance.now() - started)) * 1000, ids: ids.slice(promptIds.length) };
}

/** qkv decode rate, median of REPEATS. */
function qkvDecodeRate(model: CausalLM, promptIds: number[]): { rate: number; ids: number[] } {
  const runs = Array.from({ length: REPEATS }, () => qkvDecodeOnce(model, promptIds));
  return { rate: median(runs.map((r) => r.rate)), ids: runs[runs.length - 1].ids };
}

type LlamaRuntime = Awaited<ReturnType<typeof import('node-llama-cpp').getLlama>>;
type LlamaModel = Awaited<ReturnType<LlamaRuntime['loadModel']>>;

/** One llama.cpp greedy decode (fresh context, 2 threads): tokens/s after the first token, as qkv's. */
async function llamaCppDecodeOnce(model: LlamaModel, promptIds: number[]): Promise<{ rate: number; ids: number[] }> {
  const context = await model.createContext({ contextSize: 128, threads: 2 });
  const ids: number[] = [];
  let started = 0;
  try {
    for await (const token of context.getSequence().evaluate(promptIds as never, { temperature: 0 })) {
      ids.push(Number(token));
      if (ids.length === 1) started = performance.now();
      if (ids.length >= DECODE_TOKENS) break;
    }
  } finally {
    await context.dispose();
  }
  return { rate: ((DECODE_TOKENS - 1) / (performance.now() - started)) * 1000, ids };
}

/**
 * qkv and llama.cpp decoding the same file, their repeats interleaved (qkv, llama.cpp, qkv, …) so
 * both see the same machine load; the ratio is the median of the per-pair ratios.
 */
async function decodeSideBySide(qkvModel: CausalLM, runtime: LlamaRuntime, path: string, promptIds: number[]) {
  const llamaModel = await runtime.loadModel({ modelPath: path });
  const qkv: { rate: number; ids: number[] }[] = [];
  const llama: { rate: number; ids: number[] }[] = [];
  try {
    await llamaCppDecodeOnce(llamaModel, promptIds); // warm-up, both sides
    qkvDecodeOnce(qkvModel, promptIds);
    for (let r = 0; r < REPEATS; r++) {
      qkv.push(qkvDecodeOnce(qkvModel, promptIds));
      llama.push(await llamaCppDecodeOnce(llamaModel, promptIds));
    }
  } finally {
    await llamaModel.dispose();
  }
  return {
    qkvRate: median(qkv.map((r) => r.rate)),
    llamaRate: median(llama.map((r) => r.rate)),
    ratio: median(qkv.map((r, i) => r.rate / llama[i].rate)),
    qkvIds: qkv[0].ids,
    llamaIds: llama[0].ids,
  };
}

export async function gpt2Sized(report: BenchReport, dir: string): Promise<void> {
  const tokenizer = loadGpt2Tokenizer();
  const promptIds = tokenizer.encodeIds(PROMPT);
  let runtime: LlamaRuntime | null = null;
  try {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    runtime = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  } catch (error) {
    console.error(`bench compress: llama.cpp unavailable (${(error as Error).message.split('\n')[0]}); qkv rows only`);
  }
  const shape = 'L12 C768 V50257';
  const formats: [GgufExportType, QuantFormat | null][] = [['f32', null], ['q8_0', 'q8_0'], ['q4_0', 'q4_0']];
  let f32Rate = 0;
  for (const [ggufType, format] of formats) {
    // a fresh model per format (same seed): quantising is in place
    const model = new GPT({ vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 }, { rng: new Rng(0) }).eval();
    const ggufPath = join(dir, `gpt2-${ggufType}.gguf`);
    exportGguf(ggufPath, model, tokenizer, { type: ggufType });
    const sizeBytes = format === null ? model.numParameters() * 4 : quantizeModel(model, format).sizeBytesAfter;
    report.row({ name: `gpt2-124M ${ggufType} qkv folder weights`, shape, value: sizeBytes / 1e6, unit: 'MB' });
    report.row({ name: `gpt2-124M ${ggufType} GGUF file`, shape, value: statSync(ggufPath).size / 1e6, unit: 'MB' });
    // qkv decodes the GGUF file itself: Q8_0 / Q4_0 matrices stay packed (the same bytes llama.cpp reads)
    const fromGguf = loadGgufModel(ggufPath).model.eval();
    const qkvRow = (rate: number) =>
      report.row({ name: `gpt2-124M ${ggufType} qkv decode`, shape, value: rate, unit: 'tokens/s', ...(format === null ? {} : { ratio: rate / f32Rate, baseline: 'qkv f32' }) });
    if (runtime === null) {
      const qkv = qkvDecodeRate(fromGguf, promptIds);
      if (format === null) f32Rate = qkv.rate;
      qkvRow(qkv.rate);
    } else {
      const both = await decodeSideBySide(fromGguf, runtime, ggufPath, promptIds);
      if (format === null) f32Rate = both.qkvRate;
      qkvRow(both.qkvRate);
      const agree = both.llamaIds.filter((id, i) => id === both.qkvIds[i]).length;
      console.error(`bench compress: ${ggufType}: llama.cpp and qkv greedy agree on ${agree}/${DECODE_TOKENS} tokens`);
      report.row({ name: `gpt2-124M ${ggufType} llama.cpp decode`, shape, value: both.llamaRate, unit: 'tokens/s' });
      report.row({ name: `gpt2-124M ${ggufType} qkv vs llama.cpp`, shape, value: both.ratio, unit: 'x', ratio: both.ratio, baseline: 'llama.cpp 2 threads, interleaved' });
    }
    // memory of the quantised decode: lookup on the packed head vs a float table beside it (child processes)
    if (ggufType === 'q8_0') rssRows(report, ggufPath, shape);
    rmSync(ggufPath, { force: true });
  }
  await runtime?.dispose();
}

/** A small GPT trained on the Brown corpus, with its tokenizer and data. */
async function trainSmall(): Promise<{ model: GPT; tokenizer: Tokenizer; dataset: TokenDataset }> {
  const text = readFileSync(CORPUS, 'utf8').slice(0, 400_000);
  const tokenizer = trainBpe([text.slice(0, 200_000)], { vocabSize: 512, specialTokens: ['<|endoftext|>'] });
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_positions: 64, n_embd: 128, n_layer: 4, n_head: 4 }, { rng: new Rng(0) });
  await trainLanguageModel({ model, dataset, config: { ...TRAIN_DEFAULTS, steps: 300, batchSize: 8, blockSize: 64, warmupSteps: 20, evalInterval: 200, evalBatches: 2 }, outDir: null, saveModel: () => {} });
  return { model: model.eval(), tokenizer, dataset };
}

const EVAL = { batchSize: 8, blockSize: 64, seed: 4321 };
const EVAL_BATCHES = 16;

function copyOf(model: GPT): GPT {
  const copy = new GPT(model.config);
  copy.loadStateDict(model.stateDict());
  return copy.eval();
}

export async function smallTrained(report: BenchReport): Promise<void> {
  const { model, dataset, tokenizer } = await trainSmall();
  const shape = 'L4 C128 V512 T64';
  const baseLoss = evaluateLoss(model, dataset, EVAL, EVAL_BATCHES);
  report.row({ name: 'small f32 held-out loss', shape, value: baseLoss, unit: 'nats' });
  report.row({ name: 'small f32 held-out perplexity', shape, value: Math.exp(baseLoss), unit: 'ppl' });
  for (const format of ['q8_0', 'q4_0', 'q4_g128'] as const) {
    const quantized = copyOf(model);
    const { sizeBytesBefore, sizeBytesAfter } = quantizeModel(quantized, format);
    const loss = evaluateLoss(quantized, dataset, EVAL, EVAL_BATCHES);
    report.row({ name: `small ${format} held-out perplexity`, shape, value: Math.exp(loss), unit: 'ppl', ratio: Math.exp(loss - baseLoss), baseline: 'f32' });
    report.row({ name: `small ${format} Δloss vs f32`, shape, value: loss - baseLoss, unit: 'nats' });
    report.row({ name: `small ${format} size`, shape, value: sizeBytesAfter / 1e6, unit: 'MB', ratio: sizeBytesAfter / sizeBytesBefore, baseline: 'f32' });
  }
  // context for the Δloss rows: what the blocks' matrices contribute at all (every one zeroed)
  const blocksOff = copyOf(model);
  magnitudePrune(blocksOff, { sparsity: 0.999999, scope: 'global' });
  report.row({ name: 'small all block matrices zeroed Δloss', shape, value: evaluateLoss(blocksOff, dataset, EVAL, EVAL_BATCHES) - baseLoss, unit: 'nats' });
  for (const sparsity of [0.1, 0.3, 0.5, 0.7, 0.9]) {
    const pruned = copyOf(model);
    magnitudePrune(pruned, { sparsity, scope: 'global' });
    report.row({ name: `small sparsity ${sparsity} Δloss`, shape, value: evaluateLoss(pruned, dataset, EVAL, EVAL_BATCHES) - baseLoss, unit: 'nats' });
  }
  const tuned = copyOf(model);
  const { masks } = magnitudePrune(tuned, { sparsity: 0.7, scope: 'global' });
  await fineTunePruned(tuned, masks, dataset, { steps: 40, batchSize: 8, blockSize: 64, learningRate: 1e-3, evalBatches: 1 });
  report.row({ name: 'small sparsity 0.7 + 40 steps Δloss', shape, value: evaluateLoss(tuned.eval(), dataset, EVAL, EVAL_BATCHES) - baseLoss, unit: 'nats' });
  const rng = new Rng(99);
  const batches = Array.from({ length: 4 }, () => dataset.sampleBatch('validation', 8, 64, rng));
  const scores = headImportance(model, batches);
  const gradientScores = headImportanceGradient(copyOf(model), batches, { normalizeLayers: true });
  const promptIds = tokenizer.encodeIds(PROMPT).slice(0, 8);
  const baseRate = qkvDecodeRate(model, promptIds).rate;
  report.row({ name: 'small heads 16/16 decode', shape, value: baseRate, unit: 'tokens/s' });
  for (const removed of [4, 8, 12]) {
    const pruned = copyOf(model);
    pruneHeads(pruned, leastImportantHeads(scores, removed));
    const loss = evaluateLoss(pruned, dataset, EVAL, EVAL_BATCHES);
    const rate = qkvDecodeRate(pruned, promptIds).rate;
    report.row({ name: `small heads ${16 - removed}/16 Δloss`, shape, value: loss - baseLoss, unit: 'nats' });
    report.row({ name: `small heads ${16 - removed}/16 decode`, shape, value: rate, unit: 'tokens/s', ratio: rate / baseRate, baseline: '16 heads' });
    // the same count chosen by gradient importance (Michel et al.: one backward per batch)
    const byGradient = copyOf(model);
    pruneHeads(byGradient, leastImportantHeads(gradientScores, removed));
    report.row({ name: `small heads ${16 - removed}/16 (gradient) Δloss`, shape, value: evaluateLoss(byGradient, dataset, EVAL, EVAL_BATCHES) - baseLoss, unit: 'nats' });
  }
}

export async function run(report: BenchReport): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-bench-compress-'));
  try {
    await gpt2Sized(report, dir);
    await smallTrained(report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
