/**
 * Llama: a decoder-only transformer in the Llama layout (RMSNorm, rotary positions, SwiGLU, no
 * biases, optional grouped-query attention, untied LM head), with Hugging Face
 * `LlamaForCausalLM` parameter names and layouts, so a saved model is a valid Hugging Face folder.
 *
 * Legend: B = batch, T = time, C = channels (hidden_size), V = vocab, NH = query heads,
 * NKV = key/value heads, hs = head size (C/NH), I = intermediate_size.
 *
 *   ids (B,T) → embed_tokens → num_hidden_layers × LlamaDecoderLayer → norm → lm_head (B,T,V)
 *   Layer: x = x + self_attn(input_layernorm(x));  x = x + mlp(post_attention_layernorm(x))
 *   self_attn: qkv's MultiHeadAttention: q, k rotated by RoPE (position = cache length + t),
 *              k, v repeated NH/NKV times (GQA), causal, no biases
 *   mlp: down_proj(silu(gate_proj(x)) · up_proj(x))                          (SwiGLU)
 *
 * There is no position table: positions enter only through the rotation of q and k, so a token's
 * attention depends on relative offsets, and the KV cache holds already-rotated keys.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import type { IndexLike, Tensor } from '../tensor/tensor.ts';
import { Embedding, type TokenTable } from '../nn/embedding.ts';
import { normal_ } from '../nn/init.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { MultiHeadAttention, type LayerCache } from '../nn/multi-head-attention.ts';
import { RMSNorm } from '../nn/norm.ts';
import type { CausalLM } from './causal-lm.ts';
import { KVCache, checkTiedLogitsHead, type TiedLogitsHead } from './gpt.ts';

/** `LlamaConfig`'s `config.json` fields, with the defaults chosen for a small model trained here. */
export interface LlamaConfig {
  /** Tokens in the vocabulary (Llama 2: 32000). */
  vocab_size: number;
  /** Width C of the residual stream (Llama 2 7B: 4096). */
  hidden_size: number;
  /**
   * Width I of the SwiGLU hidden layer. Default: 8/3·C rounded up to a multiple of 8, the
   * paper's 2/3 of GPT's 4·C, so the three SwiGLU matrices hold as many weights as GPT's two
   * (Llama 2 7B: 11008 ≈ 2.7·4096).
   */
  intermediate_size: number;
  /** Number of decoder layers (Llama 2 7B: 32). */
  num_hidden_layers: number;
  /** Query heads NH; hidden_size must divide by it (Llama 2 7B: 32). */
  num_attention_heads: number;
  /**
   * Key/value heads NKV; NH must divide by it. NKV = NH is plain multi-head attention (HF's
   * default, and ours: tiny models have no cache memory to save); 1 is multi-query attention;
   * anything between is grouped-query attention (Llama 2 70B: 8 for 64 query heads).
   */
  num_key_value_heads: number;
  /** Longest context the model is trained and used for (Llama 2: 4096). RoPE itself has no table. */
  max_position_embeddings: number;
  /** RMSNorm epsilon (Llama 2: 1e-5; HF's default 1e-6). */
  rms_norm_eps: number;
  /** RoPE base: pair i of a head rotates by position·θ^(−2i/hs) (Llama: 10000). */
  rope_theta: number;
  /** Share the embedding with the LM head (Llama: false; the head has its own `lm_head.weight`). */
  tie_word_embeddings: boolean;
  /** Biases on q/k/v/o projections (Llama: false; kept as a field so HF configs that say so are refused, not misread). */
  attention_bias: boolean;
  /** The gate's activation (Llama: 'silu', which with the gate makes SwiGLU; the only one supported). */
  hidden_act: 'silu';
  /** Dropout on attention weights (HF: 0.0, which Llama was trained with). */
  attention_dropout: number;
  /** Std of the normal initialisation of every Linear and the embedding (HF: 0.02). */
  initializer_range: number;
}

export type LlamaConfigInput = Partial<LlamaConfig> & { vocab_size: number };

export const LLAMA_DEFAULTS: Omit<LlamaConfig, 'vocab_size' | 'intermediate_size' | 'num_key_value_heads'> = {
  // Sizes of the `small` preset (the GPT benchmark model), so the two compare at equal width.
  hidden_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  max_position_embeddings: 128,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: false,
  attention_bias: false,
  hidden_act: 'silu',
  attention_dropout: 0,
  initializer_range: 0.02,
};

/** 8/3·C rounded up to a multiple of 8: SwiGLU with GPT's MLP weight count (see `intermediate_size`). */
export function defaultIntermediateSize(hiddenSize: number): number {
  return Math.ceil((8 * hiddenSize) / 3 / 8) * 8;
}

/** Fills defaults and checks the config; errors name the field. */
export function resolveLlamaConfig(config: LlamaConfigInput): LlamaConfig {
  // Fields given as undefined (an optional config.json field) take the default, as absent ones do.
  const given = Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as LlamaConfigInput;
  const base = { ...LLAMA_DEFAULTS, ...given };
  const full: LlamaConfig = {
    ...base,
    intermediate_size: given.intermediate_size ?? defaultIntermediateSize(base.hidden_size),
    num_key_value_heads: given.num_key_value_heads ?? base.num_attention_heads,
  };
  const integers = ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'max_position_embeddings'] as const;
  for (const field of integers) {
    if (!Number.isInteger(full[field]) || full[field] <= 0) throw new QkvValueError(`LlamaConfig: ${field} must be a positive integer, got ${full[field]}`);
  }
  if (full.hidden_size % full.num_attention_heads !== 0) {
    throw new QkvValueError(`LlamaConfig: hidden_size ${full.hidden_size} is not divisible by num_attention_heads ${full.num_attention_heads}`);
  }
  if ((full.hidden_size / full.num_attention_heads) % 2 !== 0) {
    throw new QkvValueError(`LlamaConfig: head size ${full.hidden_size / full.num_attention_heads} must be even (RoPE rotates pairs)`);
  }
  if (full.num_attention_heads % full.num_key_value_heads !== 0) {
    throw new QkvValueError(`LlamaConfig: num_attention_heads ${full.num_attention_heads} is not divisible by num_key_value_heads ${full.num_key_value_heads}`);
  }
  if (full.hidden_act !== 'silu') throw new QkvValueError(`LlamaConfig: hidden_act ${JSON.stringify(full.hidden_act)} is not supported (only "silu")`);
  if (full.attention_bias) throw new QkvValueError('LlamaConfig: attention_bias true is not supported (Llama has no biases)');
  if (!(full.attention_dropout >= 0 && full.attention_dropout < 1)) {
    throw new QkvValueError(`LlamaConfig: attention_dropout must be in [0, 1), got ${full.attention_dropout}`);
  }
  for (const field of ['rms_norm_eps', 'rope_theta'] as const) {
    if (!(full[field] > 0)) throw new QkvValueError(`LlamaConfig: ${field} must be > 0, got ${full[field]}`);
  }
  if (!(full.initializer_range >= 0)) throw new QkvValueError(`LlamaConfig: initializer_range must be ≥ 0, got ${full.initializer_range}`);
  return full;
}

export interface LlamaForwardOptions {
  /** Incremental decoding: past (rotated) keys and values are read from it and the new ones appended. */
  cache?: KVCache;
  /** Keep each layer's (B, NH, T, Tk) attention weights on `attentionWeights`. */
  returnAttention?: boolean;
}

/** A bias-free Linear initialised N(0, initializer_range²), as HF's `LlamaPreTrainedModel._init_weights`. */
function projection(inFeatures: number, outFeatures: number, config: LlamaConfig, rng: Rng): Linear {
  const linear = new Linear(inFeatures, outFeatures, { bias: false, rng });
  normal_(linear.weight, 0, config.initializer_range, rng);
  return linear;
}

/**
 * Llama's self-attention is qkv's one `MultiHeadAttention`, configured as Llama: causal, no
 * biases, RoPE on q and k (rotate_half, θ = rope_theta, offset = positions already cached),
 * NKV key/value heads repeated to NH, KV cache of the rotated NKV-head keys. Its projections are
 * named as HF's (`q_proj`, `k_proj`, `v_proj`, `o_proj`) and initialised N(0, initializer_range²).
 */
export function llamaAttention(config: LlamaConfig, rng: Rng): MultiHeadAttention {
  const attention = new MultiHeadAttention({
    embedDim: config.hidden_size,
    numHeads: config.num_attention_heads,
    numKeyValueHeads: config.num_key_value_heads,
    bias: false,
    causal: true,
    rotaryTheta: config.rope_theta,
    dropout: config.attention_dropout,
    rng,
  });
  for (const proj of [attention.q_proj, attention.k_proj, attention.v_proj, attention.o_proj]) normal_(proj!.weight, 0, config.initializer_range, rng);
  return attention;
}

/** SwiGLU feed-forward (Shazeer 2020): down(silu(gate(x)) · up(x)). */
export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;

  constructor(config: LlamaConfig, rng: Rng) {
    super();
    const C = config.hidden_size;
    const I = config.intermediate_size;
    this.gate_proj = projection(C, I, config, rng);
    this.up_proj = projection(C, I, config, rng);
    this.down_proj = projection(I, C, config, rng);
  }

  forward(x: Tensor): Tensor {
    const gated = this.gate_proj.forward(x).silu().mul(this.up_proj.forward(x)); // (B, T, I)
    return this.down_proj.forward(gated);
  }
}

export class LlamaDecoderLayer extends Module {
  // Declaration order is HF's, so the state dict lists self_attn, mlp, then the two norms.
  readonly self_attn: MultiHeadAttention;
  readonly mlp: LlamaMLP;
  readonly input_layernorm: RMSNorm;
  readonly post_attention_layernorm: RMSNorm;

  constructor(config: LlamaConfig, rng: Rng) {
    super();
    this.self_attn = llamaAttention(config, rng);
    this.mlp = new LlamaMLP(config, rng);
    this.input_layernorm = new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps });
    this.post_attention_layernorm = new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps });
  }

  forward(x: Tensor, cache?: LayerCache, returnWeights = false): Tensor {
    const afterAttention = x.add(this.self_attn.forward(this.input_layernorm.forward(x), { cache, returnWeights }));
    return afterAttention.add(this.mlp.forward(this.post_attention_layernorm.forward(afterAttention)));
  }
}

/** The body, named `model` as in Hugging Face (`model.layers.0.self_attn.q_proj.weight`). */
export class LlamaModel extends Module {
  /** An `Embedding`; in a quantised tied model the packed table of the tied head (no float copy). */
  readonly embed_tokens: TokenTable;
  readonly layers: LlamaDecoderLayer[];
  readonly norm: RMSNorm;

  constructor(config: LlamaConfig, rng: Rng) {
    super();
    const embedTokens = new Embedding(config.vocab_size, config.hidden_size);
    normal_(embedTokens.weight, 0, config.initializer_range, rng);
    this.embed_tokens = embedTokens;
    this.layers = Array.from({ length: config.num_hidden_layers }, () => new LlamaDecoderLayer(config, rng));
    this.norm = new RMSNorm(config.hidden_size, { eps: config.rms_norm_eps });
  }
}

/**
 * Llama language model. The LM head is its own `lm_head.weight` (V, C) unless
 * `tie_word_embeddings` is set, in which case logits = h·embed_tokensᵀ and there is no head
 * (as HF files of tied models omit it).
 *
 * @example
 * const model = new Llama({ vocab_size: 65, num_hidden_layers: 2, num_key_value_heads: 2 });
 * const { logits, loss } = model.forward(ids, { targets }); // ids, targets (B, T)
 */
export class Llama extends Module implements CausalLM {
  // Dropout draws from the global `defaultRng` (saved in checkpoints, so resumed runs repeat
  // the same masks); `options.rng` only seeds the initial weights.
  readonly config: LlamaConfig;
  readonly model: LlamaModel;
  readonly lm_head: Linear | null;
  /** Tied models only: a quantised stand-in for h·embed_tokensᵀ (see GPT's), or null. */
  tied_lm_head: TiedLogitsHead | null;

  get vocabSize(): number {
    return this.config.vocab_size;
  }
  get contextLength(): number {
    return this.config.max_position_embeddings;
  }

  constructor(config: LlamaConfigInput, options: { rng?: Rng } = {}) {
    super();
    this.config = resolveLlamaConfig(config);
    const rng = options.rng ?? defaultRng;
    this.model = new LlamaModel(this.config, rng);
    this.lm_head = this.config.tie_word_embeddings ? null : projection(this.config.hidden_size, this.config.vocab_size, this.config, rng);
    this.tied_lm_head = null;
  }

  /** Tied models: computes the logits with `head` instead of h·embed_tokensᵀ (null: the float matmul). */
  setTiedLmHead(head: TiedLogitsHead | null): void {
    if (head !== null) {
      if (this.lm_head !== null) throw new QkvValueError('Llama: tie_word_embeddings is false; quantise lm_head itself instead');
      checkTiedLogitsHead('Llama', head, this.config.vocab_size, this.config.hidden_size);
    }
    this.tied_lm_head = head;
  }

  /**
   * ids (B, T) of token ids → logits (B, T, V); with `targets` (B, T) also the mean
   * cross-entropy loss (targets of -100 are ignored).
   */
  forward(ids: Tensor, options: LlamaForwardOptions & { targets?: IndexLike } = {}): { logits: Tensor; loss?: Tensor } {
    if (ids.ndim !== 2) throw new QkvShapeError(`Llama: ids must be (B,T), got ${formatShape(ids.shape)}`);
    const T = ids.shape[1];
    const start = options.cache?.length ?? 0;
    if (start + T > this.config.max_position_embeddings) {
      throw new QkvValueError(`Llama: sequence of ${start + T} positions exceeds max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    const { embed_tokens, layers, norm } = this.model;
    let x = embed_tokens.forward(ids); // (B, T, C)
    for (const [index, layer] of layers.entries()) {
      x = layer.forward(x, options.cache?.layers[index], options.returnAttention);
    }
    x = norm.forward(x);
    const logits = this.lm_head !== null
      ? this.lm_head.forward(x) // (B, T, V)
      : this.tied_lm_head !== null
        ? this.tied_lm_head.forward(x) // (B, T, C) → (B, T, V)
        : matmul(x, embed_tokens.weight.transpose(0, 1)); // (B, T, C) · (C, V) → (B, T, V)
    if (options.targets === undefined) return { logits };
    return { logits, loss: crossEntropy(logits, options.targets) };
  }

  /** Each layer's attention weights from the last forward with `returnAttention` (B, NH, T, Tk). */
  attentionWeights(): (Tensor | null)[] {
    return this.model.layers.map((layer) => layer.self_attn.attentionWeights);
  }

  newCache(): KVCache {
    return new KVCache(this.config.num_hidden_layers);
  }
}
