/**
 * BERT pre-training end to end: a WordPiece tokenizer trained on the corpus (or given), a
 * BertForPreTraining (MLM + NSP) or BertForMaskedLM (MLM only), and the shared trainer on
 * `PretrainingDataset` batches. Held-out MLM and NSP figures are measured before and after.
 */
import { noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { trainWordPiece } from '../tokenizers/wordpiece-trainer.ts';
import { resolveBertConfig, type BertConfig } from '../models/bert.ts';
import { BertForMaskedLM, BertForPreTraining } from '../models/bert-heads.ts';
import { saveBert } from '../models/bert-folder.ts';
import { IGNORE_INDEX } from './mlm-masking.ts';
import { PretrainingDataset, type PretrainingDataOptions } from './mlm.ts';
import { TRAIN_DEFAULTS, trainLanguageModel, type TrainConfig, type TrainHooks, type TrainSummary } from './trainer.ts';

/** Pre-training defaults for a small BERT here (BERT itself: lr 1e-4, 10k warm-up steps, weight decay 0.01). */
export const PRETRAIN_DEFAULTS: TrainConfig = {
  ...TRAIN_DEFAULTS,
  steps: 500,
  batchSize: 16,
  blockSize: 64,
  learningRate: 1e-3,
  minLearningRate: 1e-4,
  warmupSteps: 50,
  weightDecay: 0.01,
  beta2: 0.999,
  evalInterval: 100,
  evalBatches: 4,
};

export interface PretrainingEvaluation {
  /** Mean cross-entropy over the chosen (masked) positions, nats. */
  mlmLoss: number;
  /** Share of chosen positions predicted exactly. */
  mlmAccuracy: number;
  /** NSP cross-entropy and accuracy (null without NSP). */
  nspLoss: number | null;
  nspAccuracy: number | null;
}

/** Held-out MLM (and NSP) loss and accuracy over `batches` fixed-seed batches. */
export function evaluatePretraining(model: BertForPreTraining | BertForMaskedLM, dataset: PretrainingDataset, options: { batches: number; batchSize: number; blockSize: number; seed: number }): PretrainingEvaluation {
  const wasTraining = model.training;
  model.eval();
  const rng = new Rng(options.seed + 1);
  let mlmLoss = 0, nspLoss = 0, chosen = 0, mlmCorrect = 0, nspCorrect = 0, pairs = 0;
  noGrad(() => {
    for (let i = 0; i < options.batches; i++) {
      const batch = dataset.sampleBatch('validation', options.batchSize, options.blockSize, rng);
      const inputs = { ...batch.forwardOptions, targets: batch.targets };
      const out = model instanceof BertForPreTraining ? model.forward(batch.ids, inputs) : { ...model.forward(batch.ids, inputs), seqRelationshipLogits: null, mlmLoss: undefined, nspLoss: undefined };
      mlmLoss += (out.mlmLoss ?? out.loss!).item();
      // Logits are (M, V) at the chosen positions (gatherTargets), in row-major order.
      const predicted = out.logits.argmax(out.logits.ndim - 1).toArray();
      const targets = batch.targets.toArray().filter((target) => target !== IGNORE_INDEX);
      if (predicted.length !== targets.length) throw new QkvValueError(`evaluatePretraining: ${predicted.length} predictions for ${targets.length} chosen positions`);
      targets.forEach((target, k) => {
        chosen++;
        if (predicted[k] === target) mlmCorrect++;
      });
      if (out.nspLoss !== undefined && out.seqRelationshipLogits !== null) {
        nspLoss += out.nspLoss.item();
        const nspPredicted = out.seqRelationshipLogits.argmax(1).toArray();
        batch.forwardOptions.nextSentenceLabels!.toArray().forEach((label, k) => {
          pairs++;
          if (nspPredicted[k] === label) nspCorrect++;
        });
      }
    }
  });
  if (wasTraining) model.train();
  return {
    mlmLoss: mlmLoss / options.batches,
    mlmAccuracy: chosen === 0 ? 0 : mlmCorrect / chosen,
    nspLoss: pairs === 0 ? null : nspLoss / options.batches,
    nspAccuracy: pairs === 0 ? null : nspCorrect / pairs,
  };
}

export interface PretrainRun {
  /** Documents, each a list of sentences (see `splitDocuments`). */
  documents: readonly (readonly string[])[];
  /** A WordPiece tokenizer; default: one trained on the documents with `vocabSize` tokens. */
  tokenizer?: Tokenizer;
  vocabSize?: number;
  model?: Partial<Omit<BertConfig, 'vocab_size'>>;
  config: TrainConfig;
  data?: PretrainingDataOptions;
  outDir: string | null;
  hooks?: TrainHooks;
}

export interface PretrainResult {
  model: BertForPreTraining | BertForMaskedLM;
  tokenizer: Tokenizer;
  summary: TrainSummary;
  before: PretrainingEvaluation;
  after: PretrainingEvaluation;
  trainTokens: number;
}

/**
 * Pre-trains a BERT and writes its folder (config.json, model.safetensors, tokenizer.json) to outDir.
 *
 * @example const { after } = await pretrainBert({ documents: splitDocuments(text), config: { ...PRETRAIN_DEFAULTS, steps: 200 }, outDir: 'runs/bert' });
 */
export async function pretrainBert(run: PretrainRun): Promise<PretrainResult> {
  const tokenizer = run.tokenizer ?? trainWordPiece(run.documents.flat(), { vocabSize: run.vocabSize ?? 4000 });
  const config = resolveBertConfig({ ...run.model, vocab_size: tokenizer.vocabSize, max_position_embeddings: Math.max(run.model?.max_position_embeddings ?? 0, run.config.blockSize) });
  const nsp = run.data?.nextSentencePrediction ?? true;
  const rng = new Rng(run.config.seed);
  const model = nsp ? new BertForPreTraining(config, { rng }) : new BertForMaskedLM(config, { rng });
  const dataset = new PretrainingDataset(tokenizer, run.documents, run.data);
  const evaluation = { batches: run.config.evalBatches, batchSize: run.config.batchSize, blockSize: run.config.blockSize, seed: run.config.seed };
  const before = evaluatePretraining(model, dataset, evaluation);
  const summary = await trainLanguageModel({
    model,
    dataset,
    config: run.config,
    outDir: run.outDir,
    saveModel: (dir) => saveBert(dir, model, tokenizer),
    hooks: run.hooks,
  });
  const after = evaluatePretraining(model, dataset, evaluation);
  return { model, tokenizer, summary, before, after, trainTokens: dataset.trainTokens };
}
