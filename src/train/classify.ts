/**
 * Sequence classification with BERT: fine-tuning on labelled text through the shared trainer
 * (src/train/trainer.ts: AdamW, warm-up + cosine, clipping, evaluation, checkpoints), and
 * prediction with class probabilities.
 */
import { noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { softmax } from '../tensor/ops/softmax.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import type { BertForSequenceClassification } from '../models/bert-heads.ts';
import { encodeBertBatch } from '../models/bert-inputs.ts';
import { saveBert } from '../models/bert-folder.ts';
import { ClassificationDataset, type LabelledExample } from './classify-data.ts';
import { TRAIN_DEFAULTS, trainLanguageModel, type TrainConfig, type TrainHooks, type TrainSummary } from './trainer.ts';

export interface Predictions {
  /** Predicted label per text. */
  labels: string[];
  /** (N, L) class probabilities, in the model's label order. */
  probabilities: number[][];
}

/**
 * Class probabilities and the most likely label for each text.
 *
 * @example const { labels } = predictClasses(model, tokenizer, ['It was a dark and stormy night.']);
 */
export function predictClasses(model: BertForSequenceClassification, tokenizer: Tokenizer, texts: readonly string[], options: { batchSize?: number; maxLength?: number } = {}): Predictions {
  const batchSize = options.batchSize ?? 32;
  const maxLength = options.maxLength ?? model.config.max_position_embeddings;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new QkvValueError(`predictClasses: batchSize must be a positive integer, got ${batchSize}`);
  const wasTraining = model.training;
  model.eval();
  const probabilities: number[][] = [];
  try {
    noGrad(() => {
      for (let start = 0; start < texts.length; start += batchSize) {
        const batch = encodeBertBatch(tokenizer, texts.slice(start, start + batchSize), maxLength);
        const { logits } = model.forward(batch.ids, { attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds }); // (B, L)
        const [B, L] = logits.shape;
        const values = softmax(logits, -1).contiguousData();
        for (let b = 0; b < B; b++) probabilities.push(Array.from(values.subarray(b * L, (b + 1) * L)));
      }
    });
  } finally {
    if (wasTraining) model.train();
  }
  const labels = probabilities.map((row) => model.labels[row.indexOf(Math.max(...row))]);
  return { labels, probabilities };
}

/** Fine-tuning defaults: BERT's recipe scaled to a small model (lr a few 1e-4, short warm-up, weight decay 0.01). */
export const CLASSIFY_TRAIN_DEFAULTS: TrainConfig = {
  ...TRAIN_DEFAULTS,
  steps: 300,
  batchSize: 16,
  blockSize: 96,
  learningRate: 5e-4,
  minLearningRate: 5e-5,
  warmupSteps: 30,
  weightDecay: 0.01,
  beta2: 0.999,
  evalInterval: 50,
  evalBatches: 4,
};

export interface FineTuneRun {
  model: BertForSequenceClassification;
  tokenizer: Tokenizer;
  train: readonly LabelledExample[];
  validation: readonly LabelledExample[];
  config: TrainConfig;
  /** Where the model folder and metrics go (null: nothing on disk). */
  outDir: string | null;
  hooks?: TrainHooks;
}

/** Fine-tunes `model` (all weights) on labelled examples; the folder in outDir is a BertForSequenceClassification. */
export async function fineTuneClassifier(run: FineTuneRun): Promise<TrainSummary> {
  const dataset = new ClassificationDataset(run.tokenizer, run.model.labels, run.train, run.validation);
  return trainLanguageModel({
    model: run.model,
    dataset,
    config: run.config,
    outDir: run.outDir,
    saveModel: (dir) => saveBert(dir, run.model, run.tokenizer),
    hooks: run.hooks,
  });
}
