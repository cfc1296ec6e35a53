/**
 * GPT training and generation throughput (issue 6), side by side in one run:
 * - training tokens/s of qkv and of the same model written with TensorFlow.js on its WebAssembly
 *   backend (`bench/tfjs-gpt.ts`): 4 layers, n_embd 128, 4 heads, context 128, batch 16, AdamW,
 *   the same character-level windows of data/brown.txt for all. One step = forward + backward +
 *   gradient clipping + AdamW, as `src/train/trainer.ts` takes it. Steps are interleaved (step i
 *   of every variant before step i + 1 of any) so machine noise hits all alike; medians reported.
 *   Variants: qkv on its native and its wasm kernels, each on its default threads and on 1 thread
 *   (the second thread's gain; tfjs-wasm runs 1 thread under Node, so 1 thread is also the
 *   per-thread comparison); tfjs-wasm as anyone would write it (`tf.matMul` and its
 *   own gradients: the issue's baseline), and tuned (products written around tfjs-wasm's slow
 *   transposed and batched matmul paths; see `TfjsMatmuls`).
 * - greedy generation tokens/s of the qkv model with and without the KV cache (the two must give
 *   the same ids).
 *
 * Before timing, the comparison is checked to be honest: each tfjs model gets qkv's initial
 * weights, must have the same parameter count, and must give the same loss on the same batch,
 * and that loss must be ≈ ln V. A failed check throws. The losses of every variant's steps are
 * printed to stderr: they agree, so all variants train the same model the same way.
 *
 * Alone: `node --import tsx bench/gpt.ts [--json]`, or `node --import tsx bench/run.ts --only gpt`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateText } from '../src/generate/lm.ts';
import { getKernelInfo, kernelBackend, setKernelBackend, setKernelThreads, waitForKernelThreads, type KernelBackendName } from '../src/kernels/index.ts';
import { noGrad } from '../src/tensor/autograd.ts';
import { GPT } from '../src/models/gpt.ts';
import { AdamW, clipGradNorm } from '../src/optim/index.ts';
import { Rng } from '../src/tensor/random.ts';
import type { Tensor } from '../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../src/tokenizers/char.ts';
import { TokenDataset, type Batch } from '../src/train/data.ts';
import { TRAIN_DEFAULTS } from '../src/train/trainer.ts';
import { BenchReport } from './report.ts';
import type { TfjsMatmuls } from './tfjs-gpt.ts';

const CORPUS = fileURLToPath(new URL('../data/brown.txt', import.meta.url));
/** Characters of the corpus the windows are drawn from: plenty for a few batches, quick to tokenize. */
const CORPUS_PREFIX_CHARS = 1_000_000;

/** The issue's config: the `small` preset at full context. */
const MODEL = { n_layer: 4, n_embd: 128, n_head: 4, n_positions: 128 } as const;
const BATCH_SIZE = 16;
const BLOCK_SIZE = 128;
const WARMUP_STEPS = 1;
const TIMED_STEPS = 4;
const SEED = 1337;

const GENERATE_PROMPT = 'The ';
const GENERATE_NEW_TOKENS = 100;
const GENERATE_RUNS = 3;

/** |loss_qkv − loss_tfjs| allowed at equal weights: float32 sums in different orders over 2048 tokens. */
const LOSS_TOLERANCE = 1e-3;

export async function run(report: BenchReport): Promise<void> {
  const text = readFileSync(CORPUS, 'utf8');
  const tokenizer = trainCharTokenizer(text); // vocabulary over the whole corpus, windows from its start
  const V = tokenizer.vocabSize;
  const dataset = new TokenDataset(tokenizer.encodeIds(text.slice(0, CORPUS_PREFIX_CHARS)), 0);
  const dataRng = new Rng(SEED);
  const batches: Batch[] = Array.from({ length: WARMUP_STEPS + TIMED_STEPS }, () => dataset.sampleBatch('train', BATCH_SIZE, BLOCK_SIZE, dataRng));
  const shape = `B${BATCH_SIZE} T${BLOCK_SIZE} V${V}`;
  const qkvThreads = getKernelInfo().threads;

  const newModel = (): GPT => new GPT({ vocab_size: V, ...MODEL }, { rng: new Rng(SEED) });
  const model = newModel();
  const qkvParameters = model.parameters().reduce((sum, p) => sum + p.size, 0);
  const defaultBackend = getKernelInfo().backend;
  const backends: KernelBackendName[] = [defaultBackend, ...(['native', 'wasm'] as const).filter((name) => name !== defaultBackend && loads(name))];
  const variants: TrainVariant[] = [];
  for (const backend of backends) {
    for (const threads of qkvThreads > 1 ? [qkvThreads, 1] : [1]) {
      // The first variant trains `model` (generation below uses it); every other its own copy.
      const trained = variants.length === 0 ? model : newModel();
      variants.push({ name: `gpt train qkv ${backend} ${threadsText(threads)}`, qkvThreads: threads, backend, step: qkvTrainer(trained), times: [], losses: [] });
    }
  }

  const tfjs = await loadTfjsBaseline();
  if (tfjs !== undefined) {
    const { module, threads } = tfjs;
    const toTf = (t: Tensor) => module.tf.tensor2d(Int32Array.from(t.contiguousData()), [t.shape[0], t.shape[1]], 'int32');
    const tfBatches = new Map(batches.map((batch) => [batch, { ids: toTf(batch.ids), targets: toTf(batch.targets) }]));
    const initialLossQkv = noGrad(() => model.forward(batches[0].ids, { targets: batches[0].targets }).loss!.item());
    if (!(Math.abs(initialLossQkv - Math.log(V)) < 0.1)) throw new Error(`bench gpt: qkv loss at init ${initialLossQkv}, expected ≈ ln V = ${Math.log(V).toFixed(4)}`);
    for (const matmuls of ['tfjs', 'tuned'] as const) {
      const tfModel = new module.TfjsGPT({ vocab_size: V, layer_norm_epsilon: model.config.layer_norm_epsilon, initializer_range: model.config.initializer_range, ...MODEL }, { matmuls });
      tfModel.loadWeights(model.namedParameters().map(([name, p]) => [name.replace(/^transformer\./, ''), Float32Array.from(p.contiguousData())]));
      const tfParameters = tfModel.parameterCount();
      if (tfParameters !== qkvParameters) throw new Error(`bench gpt: the tfjs model has ${tfParameters} parameters, qkv's ${qkvParameters}`);
      const first = tfBatches.get(batches[0])!;
      const initialLossTfjs = module.tf.tidy(() => tfModel.loss(first.ids, first.targets).dataSync()[0]);
      if (!(Math.abs(initialLossTfjs - initialLossQkv) < LOSS_TOLERANCE)) {
        throw new Error(`bench gpt: at equal weights the tfjs (${matmuls} matmuls) loss ${initialLossTfjs} differs from qkv's ${initialLossQkv} (tolerance ${LOSS_TOLERANCE})`);
      }
      console.error(`bench gpt: tfjs (${matmuls} matmuls) and qkv: ${qkvParameters} parameters each; loss at init qkv ${initialLossQkv.toFixed(5)}, tfjs ${initialLossTfjs.toFixed(5)}, ln V ${Math.log(V).toFixed(5)}`);
      const trainer = new module.TfjsTrainer(tfModel, {
        lr: TRAIN_DEFAULTS.learningRate,
        betas: [TRAIN_DEFAULTS.beta1, TRAIN_DEFAULTS.beta2],
        eps: 1e-8, // qkv's AdamW default (tf.train.adam's default is 1e-7)
        weightDecay: TRAIN_DEFAULTS.weightDecay,
        gradClip: TRAIN_DEFAULTS.gradClip,
      });
      const step = (batch: Batch): number => {
        const { ids, targets } = tfBatches.get(batch)!;
        return trainer.step(ids, targets).loss;
      };
      const name = `gpt train tfjs-wasm${matmuls === 'tfjs' ? '' : ' tuned'} ${threadsText(threads)}`;
      variants.push({ name, qkvThreads: null, tfjsMatmuls: matmuls, step, times: [], losses: [] });
    }
  }

  // Interleaved, step i of every variant before step i + 1 of any, so machine noise hits all alike.
  for (const [i, batch] of batches.entries()) {
    for (const variant of variants) {
      if (variant.backend !== undefined && variant.backend !== getKernelInfo().backend) setKernelBackend(variant.backend);
      if (variant.qkvThreads !== null && variant.qkvThreads !== getKernelInfo().threads) {
        setKernelThreads(variant.qkvThreads);
        waitForKernelThreads();
      }
      const started = performance.now();
      variant.losses.push(variant.step(batch));
      if (i >= WARMUP_STEPS) variant.times.push(performance.now() - started);
    }
  }
  setKernelBackend(defaultBackend);
  setKernelThreads(qkvThreads);
  waitForKernelThreads();
  for (const variant of variants) console.error(`bench gpt: ${variant.name} losses ${variant.losses.map((loss) => loss.toFixed(3)).join(' ')}`);

  const tokensPerStep = BATCH_SIZE * BLOCK_SIZE;
  const tokensPerSecond = new Map<TrainVariant, number>();
  for (const variant of variants) {
    const timeMs = median(variant.times);
    tokensPerSecond.set(variant, tokensPerStep / (timeMs / 1000));
    report.row({ name: variant.name, shape, timeMs, value: tokensPerStep / (timeMs / 1000), unit: 'tokens/s' });
  }
  const ratioRow = (name: string, variant: TrainVariant | undefined, baseline: TrainVariant | undefined): void => {
    if (variant === undefined || baseline === undefined) return;
    const ratio = tokensPerSecond.get(variant)! / tokensPerSecond.get(baseline)!;
    report.row({ name, shape, value: ratio, unit: 'x', ratio, baseline: baseline.name });
  };
  const qkv = (backend: KernelBackendName, threads: number) => variants.find((v) => v.backend === backend && v.qkvThreads === threads);
  for (const backend of backends) {
    if (qkvThreads > 1) ratioRow(`gpt train qkv ${backend} ${qkvThreads}t / 1t (threads' gain)`, qkv(backend, qkvThreads), qkv(backend, 1));
  }
  if (backends.includes('native') && backends.includes('wasm')) ratioRow(`gpt train qkv native / wasm, ${threadsText(qkvThreads)}`, qkv('native', qkvThreads), qkv('wasm', qkvThreads));
  for (const baseline of variants.filter((variant) => variant.tfjsMatmuls !== undefined)) {
    for (const variant of variants.filter((v) => v.qkvThreads !== null)) {
      const label = `qkv ${variant.backend}${variant.qkvThreads === qkvThreads ? '' : ` ${variant.qkvThreads}t`}`;
      ratioRow(`gpt train ${label} / tfjs-wasm${baseline.tfjsMatmuls === 'tfjs' ? '' : ' tuned'}`, variant, baseline);
    }
  }

  // Generation on the model just trained a few steps: greedy, so both paths must give the same ids.
  const generateShape = `${GENERATE_NEW_TOKENS} new, greedy`;
  const tokensPerSecondByPath = { cache: [] as number[], noCache: [] as number[] };
  const idsByPath = { cache: '', noCache: '' };
  for (let i = 0; i < GENERATE_RUNS; i++) {
    for (const path of ['cache', 'noCache'] as const) {
      const result = await generateText({
        model,
        tokenizer,
        prompt: GENERATE_PROMPT,
        config: { max_new_tokens: GENERATE_NEW_TOKENS, temperature: 0 },
        useCache: path === 'cache',
      });
      tokensPerSecondByPath[path].push(result.tokensPerSecond);
      idsByPath[path] = result.ids.join(',');
    }
  }
  if (idsByPath.cache !== idsByPath.noCache) console.error('bench gpt: warning: greedy ids differ with and without the KV cache');
  const cacheTokensPerSecond = median(tokensPerSecondByPath.cache);
  const noCacheTokensPerSecond = median(tokensPerSecondByPath.noCache);
  report.row({ name: 'gpt generate qkv kv-cache', shape: generateShape, timeMs: 1000 / cacheTokensPerSecond, value: cacheTokensPerSecond, unit: 'tokens/s' });
  report.row({ name: 'gpt generate qkv no-cache', shape: generateShape, timeMs: 1000 / noCacheTokensPerSecond, value: noCacheTokensPerSecond, unit: 'tokens/s' });
  const cacheRatio = cacheTokensPerSecond / noCacheTokensPerSecond;
  report.row({ name: 'gpt generate kv-cache / no-cache', shape: generateShape, value: cacheRatio, unit: 'x', ratio: cacheRatio, baseline: 'gpt generate qkv no-cache' });
}

interface TrainVariant {
  name: string;
  /** Threads for the qkv kernels while this variant steps; null for tfjs. */
  qkvThreads: number | null;
  /** The qkv kernel backend this variant steps on (qkv variants only). */
  backend?: KernelBackendName;
  /** How the tfjs model writes its products (tfjs variants only). */
  tfjsMatmuls?: TfjsMatmuls;
  /** One training step on a batch; returns the loss. */
  step: (batch: Batch) => number;
  /** Wall time of each timed step, in milliseconds. */
  times: number[];
  losses: number[];
}

/** Whether a kernel backend loads here (a row is left out, with a note, when it does not). */
function loads(name: KernelBackendName): boolean {
  try {
    kernelBackend(name);
    return true;
  } catch (error) {
    console.error(`bench gpt: qkv ${name} kernels unavailable (${error instanceof Error ? error.message : String(error)})`);
    return false;
  }
}

function threadsText(threads: number): string {
  return threads === 1 ? '1 thread' : `${threads} threads`;
}

/** One qkv training step as the trainer takes it (AdamW with decay on matrices only); returns the loss. */
function qkvTrainer(model: GPT): (batch: Batch) => number {
  const params = model.parameters().filter((p) => p.requiresGrad);
  const optimizer = new AdamW([{ params: params.filter((p) => p.ndim >= 2) }, { params: params.filter((p) => p.ndim < 2), weightDecay: 0 }], {
    lr: TRAIN_DEFAULTS.learningRate,
    betas: [TRAIN_DEFAULTS.beta1, TRAIN_DEFAULTS.beta2],
    weightDecay: TRAIN_DEFAULTS.weightDecay,
  });
  model.train();
  return (batch) => {
    const loss = model.forward(batch.ids, { targets: batch.targets }).loss!;
    loss.backward({ releaseActivations: true }); // nothing of the forward but the loss is read after it
    const value = loss.item();
    clipGradNorm(params, TRAIN_DEFAULTS.gradClip);
    optimizer.step();
    optimizer.zeroGrad();
    return value;
  };
}

/** tfjs on its wasm backend with as many threads as qkv uses, or undefined (with a note) when it cannot start. */
async function loadTfjsBaseline(): Promise<{ module: typeof import('./tfjs-gpt.ts'); threads: number } | undefined> {
  try {
    const module = await import('./tfjs-gpt.ts');
    await module.useTfjsWasm(getKernelInfo().threads);
    return { module, threads: await module.tfjsWasmThreads() };
  } catch (error) {
    console.error(`bench gpt: tfjs-wasm unavailable (${error instanceof Error ? error.message : String(error)})`);
    return undefined;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run(new BenchReport(process.argv.includes('--json')));
}
