/**
 * Training an encoder–decoder on source/target pairs with teacher forcing, through the ordinary
 * training loop (`trainLanguageModel`): a `Seq2SeqDataset` gives (source ids, labels) batches and
 * the model shifts the labels right itself, so AdamW, warm-up + cosine, clipping, accumulation,
 * evaluation, checkpoints and resume are the language model's, unchanged.
 *
 * Architectures: `transformer` (src/models/transformer.ts), `gru-attention` and `gru` (the GRU
 * seq2seq with and without Bahdanau attention, src/models/rnn-seq2seq.ts).
 */
import { RnnSeq2Seq, type RnnSeq2SeqConfigInput } from '../models/rnn-seq2seq.ts';
import { Transformer } from '../models/transformer.ts';
import { TRANSFORMER_PRESETS, type TransformerConfigInput } from '../models/transformer-config.ts';
import { saveSeq2SeqModel, type Seq2SeqModel } from '../models/transformer-folder.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { Seq2SeqDataset, seq2seqCharTokenizer, specialTokenIds } from './seq2seq-data.ts';
import type { Seq2SeqPair } from './seq2seq-tasks.ts';
import { TRAIN_DEFAULTS, trainLanguageModel, type TrainConfig, type TrainHooks, type TrainSummary } from './trainer.ts';

export const SEQ2SEQ_ARCHITECTURES = ['transformer', 'gru-attention', 'gru'] as const;
export type Seq2SeqArchitecture = (typeof SEQ2SEQ_ARCHITECTURES)[number];

/** Training defaults for the small tasks here: short batches of pairs, lr 3e-3 (the small models train fast at it). */
export const SEQ2SEQ_TRAIN_DEFAULTS: TrainConfig = {
  ...TRAIN_DEFAULTS,
  steps: 1500,
  batchSize: 32,
  blockSize: 1, // unused: a seq2seq batch is as long as its longest pair
  learningRate: 3e-3,
  minLearningRate: 3e-4,
  warmupSteps: 100,
  weightDecay: 0.01,
  evalInterval: 250,
  evalBatches: 4,
};

export interface Seq2SeqModelOptions {
  arch: Seq2SeqArchitecture;
  /** Transformer sizes (default 'small'). */
  preset?: keyof typeof TRANSFORMER_PRESETS;
  /** Fields of the Transformer or GRU config over the preset (d_model, position, normalize_before, hidden_size, …). */
  config?: Partial<TransformerConfigInput> | Partial<RnnSeq2SeqConfigInput>;
  /** Seeds the initial weights. */
  seed?: number;
}

/** A freshly initialised model for `tokenizer`'s vocabulary. @example buildSeq2SeqModel(tokenizer, { arch: 'gru', config: { hidden_size: 64 } }) */
export function buildSeq2SeqModel(tokenizer: Tokenizer, options: Seq2SeqModelOptions): Seq2SeqModel {
  const ids = specialTokenIds(tokenizer);
  const rng = new Rng(options.seed ?? 0);
  const base = { vocab_size: tokenizer.vocabSize, ...ids };
  switch (options.arch) {
    case 'transformer':
      return new Transformer({ ...base, ...TRANSFORMER_PRESETS[options.preset ?? 'small'], ...(options.config as Partial<TransformerConfigInput>) }, { rng });
    case 'gru-attention':
    case 'gru':
      return new RnnSeq2Seq({ ...base, ...(options.config as Partial<RnnSeq2SeqConfigInput>), attention: options.arch === 'gru' ? 'none' : 'additive' }, { rng });
    default:
      throw new QkvValueError(`unknown seq2seq architecture ${JSON.stringify(options.arch)} (architectures: ${SEQ2SEQ_ARCHITECTURES.join(', ')})`);
  }
}

export interface TrainSeq2SeqOptions extends Seq2SeqModelOptions {
  trainPairs: readonly Seq2SeqPair[];
  validationPairs: readonly Seq2SeqPair[];
  /** Default: a character tokenizer over the pairs. */
  tokenizer?: Tokenizer;
  /** Over SEQ2SEQ_TRAIN_DEFAULTS. */
  train?: Partial<TrainConfig>;
  /** Model folder and checkpoints go here (null: nothing on disk). */
  outDir: string | null;
  resume?: boolean;
  hooks?: TrainHooks;
}

export interface TrainedSeq2Seq {
  model: Seq2SeqModel;
  tokenizer: Tokenizer;
  summary: TrainSummary;
}

/**
 * @example
 * const train = generatePairs(datesTask, 5000, 1);
 * const { model, tokenizer } = await trainSeq2Seq({ arch: 'transformer', trainPairs: train, validationPairs: heldOutPairs(datesTask, 200, 2, train), outDir: 'runs/dates' });
 */
export async function trainSeq2Seq(options: TrainSeq2SeqOptions): Promise<TrainedSeq2Seq> {
  const tokenizer = options.tokenizer ?? seq2seqCharTokenizer([...options.trainPairs, ...options.validationPairs]);
  const model = buildSeq2SeqModel(tokenizer, options);
  const config: TrainConfig = { ...SEQ2SEQ_TRAIN_DEFAULTS, ...options.train };
  const summary = await trainLanguageModel({
    model,
    dataset: new Seq2SeqDataset(tokenizer, options.trainPairs, options.validationPairs),
    config,
    outDir: options.outDir,
    saveModel: (dir) => saveSeq2SeqModel(dir, model, tokenizer),
    resume: options.resume,
    hooks: options.hooks,
  });
  return { model, tokenizer, summary };
}
