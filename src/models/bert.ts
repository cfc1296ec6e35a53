/**
 * BERT: an encoder-only transformer (Devlin et al., 2019) with Hugging Face `BertModel` parameter
 * names, so a saved folder is what `transformers` expects (`bert.encoder.layer.0.attention.self.query.weight`).
 *
 * Legend: B = batch, T = time, C = channels (hidden_size), V = vocab, NH = heads, hs = head size (C/NH),
 * L = labels.
 *
 *   ids (B,T), token_type_ids (B,T) → word + position + token_type embeddings, summed → LayerNorm → Dropout
 *   → num_hidden_layers × BertLayer → last_hidden_state (B,T,C) → pooler: tanh(dense(h[:, 0])) (B,C)
 *   BertLayer (post-LN, as the original Transformer and BERT; GPT-2 is pre-LN):
 *     x = LayerNorm(x + Dropout(Wo·SelfAttention(x)));  x = LayerNorm(x + Dropout(W2·GELU(W1·x)))
 *
 * Heads: masked-LM (dense → GELU → LayerNorm → logits against the word embeddings, tied, plus a bias),
 * next-sentence prediction (pooled → 2 logits), sequence classification (pooled → Dropout → L logits),
 * and `meanPool` for sentence embeddings. Padding (attention_mask 0) gets −∞ in the attention
 * scores through the shared attention core, so a padded key has weight exactly 0.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import { attendHeads } from '../nn/multi-head-attention.ts';
import { Dropout } from '../nn/dropout.ts';
import { Embedding } from '../nn/embedding.ts';
import { normal_, zeros_ } from '../nn/init.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { LayerNorm } from '../nn/norm.ts';

/** BertConfig's `config.json` fields, with defaults chosen for a small model trained here. */
export interface BertConfig {
  /** Tokens in the vocabulary (bert-base-uncased: 30522). */
  vocab_size: number;
  /** Width C (bert-base: 768). */
  hidden_size: number;
  /** Encoder layers (bert-base: 12). */
  num_hidden_layers: number;
  /** Attention heads; hidden_size must divide by it (bert-base: 12). */
  num_attention_heads: number;
  /** Width of the feed-forward layer (bert-base: 3072 = 4·C). */
  intermediate_size: number;
  /** Dropout on embeddings and residual branches (BERT: 0.1). */
  hidden_dropout_prob: number;
  /** Dropout on attention weights (BERT: 0.1). */
  attention_probs_dropout_prob: number;
  /** Rows of the learned position table: the longest input (BERT: 512). */
  max_position_embeddings: number;
  /** Segments (sentence A / B) of the token-type table (BERT: 2). */
  type_vocab_size: number;
  /** Std of the normal initialisation (BERT: 0.02). */
  initializer_range: number;
  /** LayerNorm epsilon (BERT: 1e-12). */
  layer_norm_eps: number;
  /** Id of [PAD]; its embedding row starts at zero (BERT: 0). */
  pad_token_id: number;
}

export const BERT_DEFAULTS: Omit<BertConfig, 'vocab_size'> = {
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 512,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 128,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
};

/** Fills defaults and checks the config; errors name the field. */
export function resolveBertConfig(config: Partial<BertConfig> & { vocab_size: number }): BertConfig {
  const full: BertConfig = { ...BERT_DEFAULTS, ...config };
  for (const field of ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size'] as const) {
    if (!Number.isInteger(full[field]) || full[field] <= 0) throw new QkvValueError(`BertConfig: ${field} must be a positive integer, got ${full[field]}`);
  }
  if (full.hidden_size % full.num_attention_heads !== 0) {
    throw new QkvValueError(`BertConfig: hidden_size ${full.hidden_size} is not divisible by num_attention_heads ${full.num_attention_heads}`);
  }
  for (const field of ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const) {
    if (!(full[field] >= 0 && full[field] < 1)) throw new QkvValueError(`BertConfig: ${field} must be in [0, 1), got ${full[field]}`);
  }
  return full;
}

/** What every BERT forward takes besides the ids. */
export interface BertInputs {
  /** (B, T) segment ids, 0 for sentence A and 1 for B; default all 0. */
  tokenTypeIds?: IndexLike;
  /** (B, T) 1 for real tokens, 0 for padding; default all 1. */
  attentionMask?: Tensor;
  /** Keep each layer's (B, NH, T, T) attention weights on `attentionWeights`. */
  returnAttention?: boolean;
}

export class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(readonly config: BertConfig) {
    super();
    const C = config.hidden_size;
    this.word_embeddings = new Embedding(config.vocab_size, C);
    this.position_embeddings = new Embedding(config.max_position_embeddings, C);
    this.token_type_embeddings = new Embedding(config.type_vocab_size, C);
    this.LayerNorm = new LayerNorm(C, { eps: config.layer_norm_eps });
    this.dropout = new Dropout(config.hidden_dropout_prob);
  }

  /** ids, tokenTypeIds (B, T) → (B, T, C). */
  forward(ids: Tensor, tokenTypeIds: IndexLike): Tensor {
    const [B, T] = ids.shape;
    const types = tokenTypeIds instanceof Tensor ? tokenTypeIds : new Tensor(Float32Array.from(tokenTypeIds), [B, T]);
    if (types.ndim !== 2 || types.shape[0] !== B || types.shape[1] !== T) {
      throw new QkvShapeError(`BertEmbeddings: token_type_ids must be (B,T) = (${B},${T}), got ${formatShape(types.shape)}`);
    }
    // The three tables are summed, not concatenated: each is a learned offset in the same C-dim space,
    // and the sum keeps C small; LayerNorm then puts the sum on one scale.
    const summed = this.word_embeddings.forward(ids) // (B, T, C)
      .add(this.position_embeddings.forward(Tensor.arange(0, T))) // + (T, C)
      .add(this.token_type_embeddings.forward(types)); // + (B, T, C)
    return this.dropout.forward(this.LayerNorm.forward(summed));
  }
}

export class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  /** The last forward's (B, NH, T, T) weights when asked for; for inspection only. */
  attentionWeights: Tensor | null = null;

  constructor(readonly config: BertConfig) {
    super();
    const C = config.hidden_size;
    this.query = new Linear(C, C);
    this.key = new Linear(C, C);
    this.value = new Linear(C, C);
  }

  /** x (B, T, C), keyPaddingMask (B, T) → (B, T, C), heads merged (before the output projection). */
  forward(x: Tensor, keyPaddingMask: Tensor | null, returnWeights = false): Tensor {
    const [B, T, C] = x.shape;
    const NH = this.config.num_attention_heads;
    const hs = C / NH;
    const heads = (t: Tensor) => t.reshape([B, T, NH, hs]).transpose(1, 2); // (B, T, C) → (B, NH, T, hs)
    const { output, weights } = attendHeads(heads(this.query.forward(x)), heads(this.key.forward(x)), heads(this.value.forward(x)), {
      keyPaddingMask,
      dropout: { p: this.config.attention_probs_dropout_prob, training: this.training, rng: defaultRng },
      returnWeights,
    });
    this.attentionWeights = weights ?? null;
    return output.transpose(1, 2).reshape([B, T, C]); // (B, NH, T, hs) → (B, T, C)
  }
}

/** dense → Dropout → LayerNorm(· + residual): the post-LN step HF calls BertSelfOutput / BertOutput. */
export class BertResidualOutput extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(config: BertConfig, inFeatures: number) {
    super();
    this.dense = new Linear(inFeatures, config.hidden_size);
    this.LayerNorm = new LayerNorm(config.hidden_size, { eps: config.layer_norm_eps });
    this.dropout = new Dropout(config.hidden_dropout_prob);
  }

  forward(hidden: Tensor, residual: Tensor): Tensor {
    // Post-LN: normalise after the residual sum, Norm(x + Sublayer(x)).
    return this.LayerNorm.forward(this.dropout.forward(this.dense.forward(hidden)).add(residual));
  }
}

export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;

  constructor(config: BertConfig) {
    super();
    this.self = new BertSelfAttention(config);
    this.output = new BertResidualOutput(config, config.hidden_size);
  }

  forward(x: Tensor, keyPaddingMask: Tensor | null, returnWeights = false): Tensor {
    return this.output.forward(this.self.forward(x, keyPaddingMask, returnWeights), x);
  }
}

export class BertIntermediate extends Module {
  readonly dense: Linear;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hidden_size, config.intermediate_size);
  }

  forward(x: Tensor): Tensor {
    return this.dense.forward(x).gelu('none'); // exact erf GELU, as BERT ("gelu"), not GPT-2's tanh form
  }
}

export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(config: BertConfig) {
    super();
    this.attention = new BertAttention(config);
    this.intermediate = new BertIntermediate(config);
    this.output = new BertResidualOutput(config, config.intermediate_size);
  }

  forward(x: Tensor, keyPaddingMask: Tensor | null, returnWeights = false): Tensor {
    const attended = this.attention.forward(x, keyPaddingMask, returnWeights);
    return this.output.forward(this.intermediate.forward(attended), attended);
  }
}

export class BertEncoder extends Module {
  readonly layer: BertLayer[];

  constructor(config: BertConfig) {
    super();
    this.layer = Array.from({ length: config.num_hidden_layers }, () => new BertLayer(config));
  }
}

export class BertPooler extends Module {
  readonly dense: Linear;

  constructor(config: BertConfig) {
    super();
    this.dense = new Linear(config.hidden_size, config.hidden_size);
  }

  /** (B, T, C) → (B, C): the first token ([CLS]) through dense and tanh. */
  forward(hidden: Tensor): Tensor {
    const [B, , C] = hidden.shape;
    return this.dense.forward(hidden.narrow(1, 0, 1).reshape([B, C])).tanh();
  }
}

/** BERT's initialisation (HF `_init_weights`): Linear and Embedding N(0, initializer_range), biases 0, [PAD] row 0. */
export function initBertWeights(module: Module, config: BertConfig, rng: Rng): void {
  module.apply((m) => {
    if (m instanceof Linear) {
      normal_(m.weight, 0, config.initializer_range, rng);
      if (m.bias !== null) zeros_(m.bias);
    } else if (m instanceof Embedding) {
      normal_(m.weight, 0, config.initializer_range, rng);
      if (m === (module as { embeddings?: BertEmbeddings }).embeddings?.word_embeddings && config.pad_token_id < m.numEmbeddings) {
        m.weight.data.fill(0, config.pad_token_id * m.embeddingDim, (config.pad_token_id + 1) * m.embeddingDim);
      }
    }
  });
}

export interface BertModelOutput {
  /** (B, T, C) */
  lastHiddenState: Tensor;
  /** (B, C), or null without a pooler. */
  poolerOutput: Tensor | null;
}

/**
 * The BERT body (HF `BertModel`).
 *
 * @example
 * const bert = new BertModel({ vocab_size: 1000 });
 * const { lastHiddenState, poolerOutput } = bert.forward(ids, { attentionMask }); // (B,T,128), (B,128)
 */
export class BertModel extends Module {
  readonly config: BertConfig;
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;

  constructor(config: Partial<BertConfig> & { vocab_size: number }, options: { rng?: Rng; addPoolingLayer?: boolean } = {}) {
    super();
    this.config = resolveBertConfig(config);
    this.embeddings = new BertEmbeddings(this.config);
    this.encoder = new BertEncoder(this.config);
    this.pooler = options.addPoolingLayer ?? true ? new BertPooler(this.config) : null;
    initBertWeights(this, this.config, options.rng ?? defaultRng);
  }

  forward(ids: Tensor, inputs: BertInputs = {}): BertModelOutput {
    if (ids.ndim !== 2) throw new QkvShapeError(`BertModel: input_ids must be (B,T), got ${formatShape(ids.shape)}`);
    const [B, T] = ids.shape;
    if (T > this.config.max_position_embeddings) {
      throw new QkvValueError(`BertModel: sequence of ${T} tokens exceeds max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    const mask = inputs.attentionMask ?? null;
    if (mask !== null && (mask.ndim !== 2 || mask.shape[0] !== B || mask.shape[1] !== T)) {
      throw new QkvShapeError(`BertModel: attention_mask must be (B,T) = (${B},${T}), got ${formatShape(mask.shape)}`);
    }
    let x = this.embeddings.forward(ids, inputs.tokenTypeIds ?? new Int32Array(B * T)); // (B, T, C)
    for (const layer of this.encoder.layer) x = layer.forward(x, mask, inputs.returnAttention);
    return { lastHiddenState: x, poolerOutput: this.pooler === null ? null : this.pooler.forward(x) };
  }

  /** Each layer's attention weights from the last forward with `returnAttention` (B, NH, T, T). */
  attentionWeights(): (Tensor | null)[] {
    return this.encoder.layer.map((layer) => layer.attention.self.attentionWeights);
  }
}

/**
 * Mean of the hidden states over the real tokens: Σ_t mask·h / Σ_t mask, (B, T, C) → (B, C).
 * A row with no real token gives zeros (the divisor is clamped to 1).
 */
export function meanPool(hidden: Tensor, attentionMask: Tensor): Tensor {
  const [B, T] = attentionMask.shape;
  if (hidden.ndim !== 3 || hidden.shape[0] !== B || hidden.shape[1] !== T) {
    throw new QkvShapeError(`meanPool: expected hidden (B,T,C) with (B,T) = ${formatShape(attentionMask.shape)}, got ${formatShape(hidden.shape)}`);
  }
  const maskValues = attentionMask.contiguousData();
  const counts = new Float64Array(B);
  for (let i = 0; i < B * T; i++) counts[Math.floor(i / T)] += maskValues[i];
  const divisor = Tensor.from(Array.from(counts, (count) => Math.max(1, count)), [B, 1], { dtype: hidden.dtype });
  const mask = attentionMask.to(hidden.dtype).reshape([B, T, 1]); // (B, T, 1)
  return hidden.mul(mask).sum(1).div(divisor); // (B, T, C) → (B, C)
}
