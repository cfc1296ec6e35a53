/**
 * The BERT models with heads, Hugging Face's classes and names: `BertForPreTraining` (MLM + NSP,
 * `cls.predictions.*`, `cls.seq_relationship.*`), `BertForMaskedLM` (MLM only, no pooler, as HF)
 * and `BertForSequenceClassification` (`classifier.*`). The body is `bert.*` (src/models/bert.ts).
 *
 * Legend: B = batch, T = time, C = channels, V = vocab, L = labels.
 *
 * Each `forward(ids, { targets, … })` returns logits and, with targets, the mean cross-entropy:
 * the shape the trainer (src/train/trainer.ts) calls, so pre-training and fine-tuning reuse it.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import { Dropout } from '../nn/dropout.ts';
import type { Embedding } from '../nn/embedding.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { LayerNorm } from '../nn/norm.ts';
import { Parameter } from '../nn/parameter.ts';
import { BertModel, initBertWeights, resolveBertConfig, type BertConfig, type BertInputs } from './bert.ts';

/** dense → GELU → LayerNorm (HF `BertPredictionHeadTransform`). */
export class BertPredictionHeadTransform extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hidden_size, config.hidden_size);
    this.LayerNorm = new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps });
  }

  forward(x: Tensor): Tensor {
    return this.LayerNorm.forward(this.dense.forward(x).gelu('none'));
  }
}

/**
 * The MLM head (HF `BertLMPredictionHead`): the decoder is the word-embedding table itself (tied,
 * so it is not saved, as in HF's files) with its own output bias `cls.predictions.bias`.
 */
export class BertLMPredictionHead extends Module {
  readonly transform: BertPredictionHeadTransform;
  readonly bias: Parameter;
  // #private: a Module property would register the table a second time under this head.
  readonly #wordEmbeddings: Embedding;

  constructor(config: BertConfig, wordEmbeddings: Embedding) {
    super();
    this.transform = new BertPredictionHeadTransform(config);
    this.#wordEmbeddings = wordEmbeddings;
    this.bias = new Parameter(Tensor.zeros([config.vocab_size]));
  }

  /** (B, T, C) → (B, T, V). */
  forward(hidden: Tensor): Tensor {
    return matmul(this.transform.forward(hidden), this.#wordEmbeddings.weight.transpose(0, 1)).add(this.bias); // (B,T,C)·(C,V)
  }
}

/** `cls.predictions` alone (HF `BertOnlyMLMHead`). */
export class BertOnlyMLMHead extends Module {
  readonly predictions: BertLMPredictionHead;

  constructor(config: BertConfig, wordEmbeddings: Embedding) {
    super();
    this.predictions = new BertLMPredictionHead(config, wordEmbeddings);
  }
}

/** `cls.predictions` and `cls.seq_relationship` (HF `BertPreTrainingHeads`). */
export class BertPreTrainingHeads extends BertOnlyMLMHead {
  readonly seq_relationship: Linear;

  constructor(config: BertConfig, wordEmbeddings: Embedding) {
    super(config, wordEmbeddings);
    this.seq_relationship = new Linear(config.hidden_size, 2);
  }
}

export interface BertHeadForwardOptions extends BertInputs {
  /** MLM: (B, T) original ids at chosen positions, -100 elsewhere. Classification: (B) label ids. */
  targets?: IndexLike;
  /** NSP: (B) 0 when sentence B follows A, 1 when it is random (HF's `next_sentence_label`). */
  nextSentenceLabels?: IndexLike;
  /**
   * MLM with targets: compute logits only at the chosen positions (those not -100), as Google's
   * BERT gathers `masked_lm_positions` before the output layer; logits are then (M, V), M the
   * chosen positions in row-major order. The vocabulary projection is most of a small BERT's cost.
   */
  gatherTargets?: boolean;
}

/** crossEntropy's ignore-index: the label of a position that was not chosen for MLM. */
const IGNORE_INDEX = -100;

/** hidden (B, T, C) and MLM targets (B, T) → the chosen rows (M, C) and their targets (M); null if none. */
function gatherChosen(hidden: Tensor, targets: IndexLike): { rows: Tensor; targets: number[] } | null {
  const [B, T, C] = hidden.shape;
  const values = targets instanceof Tensor ? targets.toArray() : Array.from(targets);
  const positions: number[] = [];
  const chosen: number[] = [];
  values.forEach((target, i) => {
    if (target === IGNORE_INDEX) return;
    positions.push(i);
    chosen.push(target);
  });
  if (positions.length === 0) return null;
  return { rows: hidden.reshape([B * T, C]).indexSelect(0, positions), targets: chosen };
}

/** MLM logits and loss: over every position, or (gatherTargets) only the chosen ones. */
function maskedLmHead(head: BertLMPredictionHead, hidden: Tensor, options: BertHeadForwardOptions): { logits: Tensor; loss?: Tensor } {
  if (options.targets === undefined) return { logits: head.forward(hidden) };
  const gathered = options.gatherTargets ? gatherChosen(hidden, options.targets) : null;
  if (gathered !== null) {
    const logits = head.forward(gathered.rows); // (M, V)
    return { logits, loss: crossEntropy(logits, gathered.targets) };
  }
  const logits = head.forward(hidden); // (B, T, V)
  return { logits, loss: crossEntropy(logits, options.targets) }; // only chosen positions count: the rest are -100
}

/** BERT for MLM + NSP pre-training. @example const { loss } = new BertForPreTraining({ vocab_size: 1000 }).forward(ids, { targets, nextSentenceLabels }); */
export class BertForPreTraining extends Module {
  readonly config: BertConfig;
  readonly bert: BertModel;
  readonly cls: BertPreTrainingHeads;

  constructor(config: Partial<BertConfig> & { vocab_size: number }, options: { rng?: Rng } = {}) {
    super();
    this.config = resolveBertConfig(config);
    const rng = options.rng ?? defaultRng;
    this.bert = new BertModel(this.config, { rng });
    this.cls = new BertPreTrainingHeads(this.config, this.bert.embeddings.word_embeddings);
    initBertWeights(this.cls, this.config, rng);
  }

  get contextLength(): number {
    return this.config.max_position_embeddings;
  }

  /** logits (B, T, V) (or (M, V), see gatherTargets) and NSP logits (B, 2); loss = MLM loss (+ NSP loss when its labels are given). */
  forward(ids: Tensor, options: BertHeadForwardOptions = {}): { logits: Tensor; seqRelationshipLogits: Tensor; loss?: Tensor; mlmLoss?: Tensor; nspLoss?: Tensor } {
    const { lastHiddenState, poolerOutput } = this.bert.forward(ids, options);
    const { logits, loss: mlmLoss } = maskedLmHead(this.cls.predictions, lastHiddenState, options);
    const seqRelationshipLogits = this.cls.seq_relationship.forward(poolerOutput!); // (B, 2)
    if (mlmLoss === undefined) return { logits, seqRelationshipLogits };
    if (options.nextSentenceLabels === undefined) return { logits, seqRelationshipLogits, loss: mlmLoss, mlmLoss };
    const nspLoss = crossEntropy(seqRelationshipLogits, options.nextSentenceLabels);
    return { logits, seqRelationshipLogits, loss: mlmLoss.add(nspLoss), mlmLoss, nspLoss };
  }
}

/** BERT with the MLM head only (HF `BertForMaskedLM`: no pooler). */
export class BertForMaskedLM extends Module {
  readonly config: BertConfig;
  readonly bert: BertModel;
  readonly cls: BertOnlyMLMHead;

  constructor(config: Partial<BertConfig> & { vocab_size: number }, options: { rng?: Rng } = {}) {
    super();
    this.config = resolveBertConfig(config);
    const rng = options.rng ?? defaultRng;
    this.bert = new BertModel(this.config, { rng, addPoolingLayer: false });
    this.cls = new BertOnlyMLMHead(this.config, this.bert.embeddings.word_embeddings);
    initBertWeights(this.cls, this.config, rng);
  }

  get contextLength(): number {
    return this.config.max_position_embeddings;
  }

  forward(ids: Tensor, options: BertHeadForwardOptions = {}): { logits: Tensor; loss?: Tensor } {
    return maskedLmHead(this.cls.predictions, this.bert.forward(ids, options).lastHiddenState, options); // logits (B, T, V) or (M, V)
  }
}

/**
 * BERT with a classifier on the pooled [CLS] state (HF `BertForSequenceClassification`).
 * `labels` are the class names in id order (`config.json`'s id2label).
 *
 * @example
 * const model = new BertForSequenceClassification({ vocab_size: 1000 }, { labels: ['negative', 'positive'] });
 * const { logits, loss } = model.forward(ids, { attentionMask, targets: [1, 0] }); // logits (2, 2)
 */
export class BertForSequenceClassification extends Module {
  readonly config: BertConfig;
  readonly labels: readonly string[];
  readonly bert: BertModel;
  readonly dropout: Dropout;
  readonly classifier: Linear;

  constructor(config: Partial<BertConfig> & { vocab_size: number }, options: { labels: readonly string[]; rng?: Rng; classifierDropout?: number | null }) {
    super();
    this.config = resolveBertConfig(config);
    if (options.labels.length < 2) throw new QkvValueError(`BertForSequenceClassification: needs at least 2 labels, got ${JSON.stringify(options.labels)}`);
    if (new Set(options.labels).size !== options.labels.length) throw new QkvValueError(`BertForSequenceClassification: labels must be distinct, got ${JSON.stringify(options.labels)}`);
    this.labels = [...options.labels];
    const rng = options.rng ?? defaultRng;
    this.bert = new BertModel(this.config, { rng });
    this.dropout = new Dropout(options.classifierDropout ?? this.config.hidden_dropout_prob);
    this.classifier = new Linear(this.config.hidden_size, this.labels.length);
    initBertWeights(this.classifier, this.config, rng);
  }

  get contextLength(): number {
    return this.config.max_position_embeddings;
  }

  /** logits (B, L); with targets (B) label ids, the mean cross-entropy. */
  forward(ids: Tensor, options: BertHeadForwardOptions = {}): { logits: Tensor; loss?: Tensor } {
    const pooled = this.bert.forward(ids, options).poolerOutput!; // (B, C)
    const logits = this.classifier.forward(this.dropout.forward(pooled)); // (B, L)
    return options.targets === undefined ? { logits } : { logits, loss: crossEntropy(logits, options.targets) };
  }
}

/** Any BERT qkv builds or loads. */
export type AnyBert = BertModel | BertForPreTraining | BertForMaskedLM | BertForSequenceClassification;

/** The body of any BERT: the model itself or its `bert`. */
export function bertBody(model: AnyBert): BertModel {
  return model instanceof BertModel ? model : model.bert;
}
