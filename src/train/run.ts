/**
 * Training a language model on text files, end to end: read the files, train (or reuse) a
 * tokenizer, tokenize, build the model (a GPT or a Llama) from a named size, train, and save the
 * model folder. `qkv train` and `qkv start` (the `npm start` job) are thin layers over `trainOnText`.
 */
import { join } from 'node:path';
import type { CausalLM } from '../models/causal-lm.ts';
import { GPT } from '../models/gpt.ts';
import { Llama } from '../models/llama.ts';
import { loadCausalLM, saveCausalLM } from '../models/load.ts';
import { MODEL_ARCHS, llamaPreset, modelPreset, type LlamaPreset, type ModelArch, type ModelPreset } from '../models/presets.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import { trainBpe } from '../tokenizers/bpe-trainer.ts';
import { trainCharTokenizer } from '../tokenizers/char.ts';
import { frequencySortTokenizer } from '../tokenizers/frequency-sort.ts';
import { loadGpt2Tokenizer } from '../tokenizers/gpt2.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { hasTrainerState, loadTrainerState } from './checkpoint.ts';
import { TokenDataset, readTextFiles, unigramCrossEntropy } from './data.ts';
import { TRAIN_DEFAULTS, trainLanguageModel, type TrainConfig, type TrainHooks, type TrainSummary } from './trainer.ts';
import { trainParallel } from './parallel/launch.ts';
import type { ParallelStrategy } from './parallel/protocol.ts';
import type { LossScalerOptions, Precision } from './precision.ts';

export type TokenizerKind = 'char' | 'bpe' | 'gpt2';

export interface TrainOnTextOptions {
  dataFiles: readonly string[];
  /** Model size name (`tiny`, `small`, `medium`). */
  preset: string;
  /**
   * `gpt` (GPT-2 layout, the default for a new run) or `llama` (RMSNorm, RoPE, SwiGLU). When
   * resuming, the folder's architecture is used and a different one given here is an error.
   */
  arch?: ModelArch;
  /** GPT config fields that override the preset (e.g. dropout); used with `arch: 'gpt'`. */
  modelOverrides?: ModelPreset;
  /** Llama config fields that override the preset (e.g. attention_dropout, num_key_value_heads); used with `arch: 'llama'`. */
  llamaOverrides?: LlamaPreset;
  /** Training settings that override TRAIN_DEFAULTS. */
  train?: Partial<TrainConfig>;
  tokenizer?: TokenizerKind;
  /** Target vocabulary for `bpe` (default 1024). */
  vocabSize?: number;
  /** Model folder to write (and resume from). Null keeps nothing. */
  outDir: string | null;
  resume?: boolean;
  /** Fraction of tokens held out (default 0.1). */
  validationFraction?: number;
  hooks?: TrainHooks;
  log?: (line: string) => void;
  /**
   * Data-parallel workers (worker_threads); with more than one, `train.batchSize` is per worker
   * and the run goes through `trainParallel` (src/train/parallel). Default 1: the plain loop.
   */
  workers?: number;
  /** `ddp` (full replicas, gradients all-reduced) or `fsdp` (ZeRO-3 sharding); default ddp. */
  strategy?: ParallelStrategy;
  /** With workers: DDP all-reduce overlapped with backward, FSDP prefetched gathers (see trainParallel). */
  overlap?: boolean;
  prefetch?: boolean;
  /**
   * fp32 (default), bf16, or fp16 with dynamic loss scaling. One process: the Linear products on
   * 16-bit operands (src/nn/linear16.ts); with workers: 16-bit weight/gradient storage.
   */
  precision?: Precision;
  /** fp16 loss scaling (initScale, growthInterval; default GradScaler's). */
  lossScaler?: Partial<LossScalerOptions>;
}

export interface TrainOnTextResult {
  /** The trained model: a `GPT` or a `Llama` (see `arch`). */
  model: CausalLM;
  arch: ModelArch;
  tokenizer: Tokenizer;
  summary: TrainSummary;
  /** Held-out loss of a unigram model of the training tokens: the baseline to beat. */
  unigramLoss: number;
  /** UTF-8 bytes per token of the held-out text: loss / this = nats per byte, comparable across tokenizers. */
  validationBytesPerToken: number;
  trainTokens: number;
  validationTokens: number;
  config: TrainConfig;
}

const END_OF_TEXT = '<|endoftext|>';

function buildTokenizer(kind: TokenizerKind, text: string, vocabSize: number, log: (line: string) => void): Tokenizer {
  if (kind === 'char') return trainCharTokenizer(text, { specialTokens: [END_OF_TEXT] });
  if (kind === 'bpe') {
    log(`training a byte-level BPE tokenizer to ${vocabSize} tokens…`);
    return trainBpe([text], { vocabSize, specialTokens: [END_OF_TEXT] });
  }
  if (kind === 'gpt2') return loadGpt2Tokenizer();
  throw new QkvValueError(`unknown tokenizer "${kind}"; choose char, bpe or gpt2`);
}

/** Which of `MODEL_ARCHS` a model is. */
export function archOf(model: CausalLM): ModelArch {
  if (model instanceof GPT) return 'gpt';
  if (model instanceof Llama) return 'llama';
  throw new QkvValueError(`${model.constructor.name} is neither a GPT nor a Llama`);
}

function buildModel(arch: ModelArch, options: TrainOnTextOptions, vocabSize: number, seed: number): CausalLM {
  const rng = new Rng(seed);
  switch (arch) {
    case 'gpt':
      return new GPT({ ...modelPreset(options.preset), ...options.modelOverrides, vocab_size: vocabSize }, { rng });
    case 'llama':
      return new Llama({ ...llamaPreset(options.preset), ...options.llamaOverrides, vocab_size: vocabSize }, { rng });
    default:
      throw new QkvValueError(`unknown architecture "${String(arch)}"; choose ${MODEL_ARCHS.join(' or ')}`);
  }
}

export async function trainOnText(options: TrainOnTextOptions): Promise<TrainOnTextResult> {
  const log = options.log ?? (() => {});
  if (options.arch !== undefined && !(MODEL_ARCHS as readonly string[]).includes(options.arch)) {
    throw new QkvValueError(`unknown architecture "${options.arch}"; choose ${MODEL_ARCHS.join(' or ')}`);
  }
  const text = readTextFiles(options.dataFiles);
  let model: CausalLM;
  let tokenizer: Tokenizer;
  const steps = options.train?.steps ?? TRAIN_DEFAULTS.steps;
  // Warm-up defaults to a tenth of a short run (50 steps at most), so any step count is valid.
  const warmupSteps = Math.min(TRAIN_DEFAULTS.warmupSteps, Math.floor(steps / 10));
  let config: TrainConfig = { ...TRAIN_DEFAULTS, warmupSteps, ...options.train };
  if (options.resume) {
    if (options.outDir === null || !hasTrainerState(options.outDir)) {
      throw new QkvValueError(`--resume: ${options.outDir ?? '(no --out)'} holds no checkpoint (trainer_state.json and optimizer.safetensors)`);
    }
    const loaded = loadCausalLM(options.outDir);
    model = loaded.model;
    if (options.arch !== undefined && options.arch !== archOf(model)) {
      throw new QkvValueError(`--resume: ${options.outDir} holds a ${archOf(model)} model, not ${options.arch}`);
    }
    tokenizer = loaded.tokenizer;
    // The saved configuration continues the same run; only a larger step count may be asked for.
    const saved = loadTrainerState(options.outDir).train_config as unknown as TrainConfig;
    config = { ...saved, steps: Math.max(saved.steps, options.train?.steps ?? 0) };
    log(`resuming from ${options.outDir}`);
  } else {
    tokenizer = buildTokenizer(options.tokenizer ?? 'char', text, options.vocabSize ?? 1024, log);
    if (options.modelOverrides?.output === 'adaptive') {
      // The adaptive softmax's head holds the lowest ids, so they must be the frequent tokens; the
      // saved tokenizer.json carries the new ids. Counted on the training part only (the held-out
      // tail of the text is ~its last tenth), so no held-out statistics shape the model.
      const trainText = text.slice(0, Math.floor(text.length * (1 - (options.validationFraction ?? 0.1))));
      tokenizer = frequencySortTokenizer(tokenizer, trainText).tokenizer;
      log('renumbered the vocabulary by frequency over the training text (adaptive softmax)');
    }
    model = buildModel(options.arch ?? 'gpt', options, tokenizer.vocabSize, config.seed);
  }
  const dataset = new TokenDataset(tokenizer.encodeIds(text), options.validationFraction ?? 0.1);
  const unigramLoss = unigramCrossEntropy(dataset.train, dataset.validation, tokenizer.vocabSize);
  const validationBytesPerToken = Buffer.byteLength(tokenizer.decode([...dataset.validation]), 'utf8') / dataset.validation.length;
  const outDir = options.outDir;
  const saveModel = (dir: string): void => {
    saveCausalLM(dir, model, tokenizer, { max_new_tokens: 200, do_sample: true, temperature: 0.8, top_k: 40 });
  };
  const workers = options.workers ?? 1;
  const summary: TrainSummary =
    workers > 1 || options.strategy !== undefined
      ? await trainParallel({ model, dataset, config, outDir, resume: options.resume, saveModel, hooks: options.hooks, workers, strategy: options.strategy ?? 'ddp', overlap: options.overlap, prefetch: options.prefetch, precision: options.precision, lossScaler: options.lossScaler })
      : // One process: --precision runs the Linear products on 16-bit operands, fp16 with loss scaling.
        await trainLanguageModel({ model, dataset, config, outDir, resume: options.resume, saveModel, hooks: options.hooks, precision: options.precision, lossScaler: options.lossScaler });
  return { model, arch: archOf(model), tokenizer, summary, unigramLoss, validationBytesPerToken, trainTokens: dataset.train.length, validationTokens: dataset.validation.length, config };
}

/** Where `npm start` and `qkv train` put a run when no `--out` is given. */
export function defaultRunDir(name: string): string {
  return join(process.cwd(), 'runs', name);
}
