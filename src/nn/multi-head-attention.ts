/**
 * Multi-head attention: the projections around `scaledDotProductAttention`, in one parametrised
 * implementation (self or cross, causal or not, scaled or not, MHA or grouped-query, with RoPE or
 * a positional score bias, KV cache, Transformer-XL memory).
 *
 * Legend: B = batch, T = query positions, S = context positions (cross-attention), M = memory
 * positions (Transformer-XL), P = cached positions, C = channels, NH = query heads,
 * NHkv = key/value heads, hs = head size.
 *
 *   q = x·W_q (B, NH, T, hs);  k, v = source·W_k, source·W_v (B, NHkv, Tk, hs)
 *   source = x (self), context (cross), or [memory; x] (Transformer-XL)
 *   out = concat_heads(softmax(q·kᵀ/√hs + bias + masks)·v)·W_o (B, T, C)
 *
 * `attendHeads` is the part after the projections, shared with models that keep their own
 * projection layers (GPT-2's fused `c_attn`).
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { concat } from '../tensor/ops/shape.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import type { DType, Tensor } from '../tensor/tensor.ts';
import { repeatKeyValueHeads, scaledDotProductAttention, type AttentionOptions, type AttentionResult } from './attention.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';
import { appendToCache, type LayerCache } from './kv-cache.ts';
import { applyRotaryEmbedding, type AttentionBiasProvider } from './positions.ts';

export type { LayerCache };

export interface AttendHeadsOptions {
  /** Query i attends to keys at positions ≤ its own (queries are the last positions among the keys). */
  causal?: boolean;
  /** Multiplies the scores; default 1/√hs, 1 for none. */
  scale?: number;
  /** (B, P + Tk): 1 for a real key, 0 for padding, over the cached keys too. */
  keyPaddingMask?: Tensor | null;
  dropout?: AttentionOptions['dropout'];
  returnWeights?: boolean;
  /** Rotate q and k by their positions (RoPE) with this base θ; null/undefined: no rotation. */
  rotaryTheta?: number | null;
  /** Computes a (1, NH, Tq, Tk) score bias from the query and key positions (ALiBi, T5). */
  positionBias?: AttentionBiasProvider | null;
  /** A precomputed (B|1, NH|1, Tq, Tk) score bias, added to positionBias's. */
  attentionBias?: Tensor | null;
  /** Past keys/values: read, and the new ones (after RoPE, before GQA repetition) appended. */
  cache?: LayerCache;
}

/**
 * Attention over heads after the projections: q (B, NH, Tq, hs) and the new keys/values
 * k, v (B, NHkv, Tk, hs), NH a multiple of NHkv (grouped-query attention when larger).
 *
 * Positions: the new keys follow the P cached ones (positions P … P + Tk − 1) and the queries
 * are the last Tq of them, so RoPE, ALiBi, T5 buckets and the causal mask all see the same
 * positions whether the keys come from the cache, a Transformer-XL memory or the current input.
 */
export function attendHeads(q: Tensor, k: Tensor, v: Tensor, options: AttendHeadsOptions = {}): AttentionResult {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4 || k.shape[1] !== v.shape[1] || k.shape[2] !== v.shape[2] || q.shape[1] % k.shape[1] !== 0) {
    throw new QkvShapeError(
      `attendHeads: expected q (B,NH,Tq,hs), k and v (B,NHkv,Tk,hs) with NH a multiple of NHkv; got q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`,
    );
  }
  const cache = options.cache;
  const past = cache?.keys?.shape[2] ?? 0;
  const queryLength = q.shape[2];
  if (options.rotaryTheta != null) {
    q = applyRotaryEmbedding(q, past + k.shape[2] - queryLength, options.rotaryTheta);
    k = applyRotaryEmbedding(k, past, options.rotaryTheta);
  }
  let keys = k;
  let values = v;
  if (cache) ({ keys, values } = appendToCache(cache, k, v)); // (B, NHkv, P + Tk, hs), views of the cache's buffers
  const keyLength = keys.shape[2];
  const queryOffset = keyLength - queryLength;
  let attentionBias = options.attentionBias ?? null;
  if (options.positionBias) {
    const positional = options.positionBias.bias(queryLength, keyLength, queryOffset);
    attentionBias = attentionBias === null ? positional : attentionBias.add(positional);
  }
  const repeats = q.shape[1] / keys.shape[1];
  return scaledDotProductAttention(q, repeatKeyValueHeads(keys, repeats), repeatKeyValueHeads(values, repeats), {
    causal: options.causal,
    queryOffset,
    keyPaddingMask: options.keyPaddingMask,
    scale: options.scale,
    dropout: options.dropout,
    returnWeights: options.returnWeights,
    attentionBias,
  });
}

/** (B, T, H·hs) → (B, H, T, hs). */
function splitHeads(x: Tensor, heads: number, headSize: number): Tensor {
  const [B, T] = x.shape;
  return x.reshape([B, T, heads, headSize]).transpose(1, 2);
}

export interface MultiHeadAttentionOptions {
  /** Width C of the input and the output. */
  embedDim: number;
  /** Query heads NH. */
  numHeads: number;
  /** Key/value heads NHkv (grouped-query attention when < numHeads; 1 is multi-query). Default numHeads. */
  numKeyValueHeads?: number;
  /** Head size hs; default embedDim / numHeads. */
  headDim?: number;
  /** Width of the cross-attention context (default embedDim). */
  keyValueDim?: number;
  /** One `qkv_proj` for q, k and v (self-attention only), as GPT-2's `c_attn`. Default false. */
  fusedProjection?: boolean;
  /** Biases in the projections (default true; Llama has none). */
  bias?: boolean;
  /** Each query sees only keys at its position or before. Default false. */
  causal?: boolean;
  /** Scale the scores by 1/√hs (default true; false for the lab's unscaled variant). */
  scaled?: boolean;
  /** Dropout on the attention weights while training (default 0). */
  dropout?: number;
  /** RoPE on q and k with this θ (Llama: 10000); null: none. */
  rotaryTheta?: number | null;
  /** ALiBi or a T5 `RelativePositionBias` (a Module's parameters then belong to this module). */
  positionBias?: AttentionBiasProvider | null;
  rng?: Rng;
  /** Parameter dtype (float64 for gradient checks). */
  dtype?: DType;
}

export interface MultiHeadAttentionForwardOptions {
  /** Cross-attention: keys and values from this (B, S, keyValueDim) sequence instead of x. */
  context?: Tensor;
  /**
   * Transformer-XL memory: the previous segment's (B, M, C) input hidden states, prepended to the
   * keys/values source without gradient; queries sit at positions M … M + T − 1.
   */
  memory?: Tensor | null;
  /** (B, Tk): 1 for real keys, 0 for padding; Tk counts cached/memory keys too. */
  keyPaddingMask?: Tensor | null;
  /** Incremental decoding (self-attention) or the context's keys/values computed once (cross). */
  cache?: LayerCache;
  /** Keep the (B, NH, T, Tk) weights on `attentionWeights`. */
  returnWeights?: boolean;
  /** An extra (B|1, NH|1, T, Tk) score bias. */
  attentionBias?: Tensor | null;
}

/**
 * Multi-head attention with learned W_q, W_k, W_v and W_o (Hugging Face Llama names: `q_proj`,
 * `k_proj`, `v_proj`, `o_proj`; `qkv_proj` when fused).
 *
 * @example
 * const attention = new MultiHeadAttention({ embedDim: 64, numHeads: 8, numKeyValueHeads: 2, causal: true, rotaryTheta: 10000 });
 * const y = attention.forward(x); // (B, T, 64) → (B, T, 64)
 * const crossAttention = new MultiHeadAttention({ embedDim: 64, numHeads: 4, keyValueDim: 32 });
 * const z = crossAttention.forward(decoderStates, { context: encoderStates }); // (B, T, 64), context (B, S, 32)
 */
export class MultiHeadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly numKeyValueHeads: number;
  readonly headDim: number;
  readonly causal: boolean;
  readonly scaled: boolean;
  readonly dropoutP: number;
  readonly rotaryTheta: number | null;
  readonly q_proj: Linear | null;
  readonly k_proj: Linear | null;
  readonly v_proj: Linear | null;
  readonly qkv_proj: Linear | null;
  readonly o_proj: Linear;
  readonly position_bias: AttentionBiasProvider | null;
  /** The last forward's (B, NH, T, Tk) weights when asked for; for inspection only. */
  attentionWeights: Tensor | null = null;

  constructor(options: MultiHeadAttentionOptions) {
    super();
    const { embedDim, numHeads } = options;
    const numKeyValueHeads = options.numKeyValueHeads ?? numHeads;
    for (const [name, value] of [['embedDim', embedDim], ['numHeads', numHeads], ['numKeyValueHeads', numKeyValueHeads]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new QkvValueError(`MultiHeadAttention: ${name} must be a positive integer, got ${value}`);
    }
    if (numHeads % numKeyValueHeads !== 0) {
      throw new QkvValueError(`MultiHeadAttention: numHeads ${numHeads} is not a multiple of numKeyValueHeads ${numKeyValueHeads}`);
    }
    if (options.headDim === undefined && embedDim % numHeads !== 0) {
      throw new QkvValueError(`MultiHeadAttention: embedDim ${embedDim} is not divisible by numHeads ${numHeads} (or give headDim)`);
    }
    const headDim = options.headDim ?? embedDim / numHeads;
    const keyValueDim = options.keyValueDim ?? embedDim;
    if (options.fusedProjection && keyValueDim !== embedDim) {
      throw new QkvValueError('MultiHeadAttention: fusedProjection is for self-attention (keyValueDim must equal embedDim)');
    }
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.numKeyValueHeads = numKeyValueHeads;
    this.headDim = headDim;
    this.causal = options.causal ?? false;
    this.scaled = options.scaled ?? true;
    this.dropoutP = options.dropout ?? 0;
    this.rotaryTheta = options.rotaryTheta ?? null;
    const linear = { bias: options.bias ?? true, rng: options.rng ?? defaultRng, dtype: options.dtype };
    const queryWidth = numHeads * headDim;
    const keyValueWidth = numKeyValueHeads * headDim;
    if (options.fusedProjection) {
      this.q_proj = this.k_proj = this.v_proj = null;
      this.qkv_proj = new Linear(embedDim, queryWidth + 2 * keyValueWidth, linear);
    } else {
      this.q_proj = new Linear(embedDim, queryWidth, linear);
      this.k_proj = new Linear(keyValueDim, keyValueWidth, linear);
      this.v_proj = new Linear(keyValueDim, keyValueWidth, linear);
      this.qkv_proj = null;
    }
    this.o_proj = new Linear(queryWidth, embedDim, linear);
    this.position_bias = options.positionBias ?? null;
  }

  override extraRepr(): string {
    return `embed_dim=${this.embedDim}, heads=${this.numHeads}, kv_heads=${this.numKeyValueHeads}, head_dim=${this.headDim}, causal=${this.causal}, scaled=${this.scaled}`;
  }

  /** Queries (B, NH, T, hs) and keys/values (B, NHkv, Tk, hs) for the given sources. */
  private project(x: Tensor, source: Tensor): [Tensor, Tensor, Tensor] {
    const hs = this.headDim;
    if (this.qkv_proj !== null) {
      const queryWidth = this.numHeads * hs;
      const keyValueWidth = this.numKeyValueHeads * hs;
      const [queries, k, v] = this.qkv_proj.forward(source).split([queryWidth, keyValueWidth, keyValueWidth], 2);
      // With a Transformer-XL memory the source is [memory; x]: only x's rows ask queries.
      const q = source === x ? queries : queries.narrow(1, source.shape[1] - x.shape[1], x.shape[1]);
      return [splitHeads(q, this.numHeads, hs), splitHeads(k, this.numKeyValueHeads, hs), splitHeads(v, this.numKeyValueHeads, hs)];
    }
    return [
      splitHeads(this.q_proj!.forward(x), this.numHeads, hs),
      splitHeads(this.k_proj!.forward(source), this.numKeyValueHeads, hs),
      splitHeads(this.v_proj!.forward(source), this.numKeyValueHeads, hs),
    ];
  }

  /** x (B, T, C) → (B, T, C). */
  forward(x: Tensor, options: MultiHeadAttentionForwardOptions = {}): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.embedDim) {
      throw new QkvShapeError(`MultiHeadAttention: expected x (B,T,${this.embedDim}), got ${formatShape(x.shape)}`);
    }
    const [B, T] = x.shape;
    const common = {
      scale: this.scaled ? 1 / Math.sqrt(this.headDim) : 1,
      keyPaddingMask: options.keyPaddingMask,
      dropout: { p: this.dropoutP, training: this.training, rng: defaultRng },
      returnWeights: options.returnWeights,
      attentionBias: options.attentionBias,
    };
    let result: AttentionResult;
    if (options.context !== undefined) {
      if (this.qkv_proj !== null) throw new QkvValueError('MultiHeadAttention: a fused qkv projection cannot do cross-attention');
      if (options.memory) throw new QkvValueError('MultiHeadAttention: Transformer-XL memory is for self-attention, not with a context');
      // Cross-attention: no causal mask and no positions between the two sequences; a cache keeps
      // the context's keys/values, computed on the first call.
      const cache = options.cache;
      let keys = cache?.keys ?? null;
      let values = cache?.values ?? null;
      if (keys === null || values === null) {
        keys = splitHeads(this.k_proj!.forward(options.context), this.numKeyValueHeads, this.headDim); // (B, NHkv, S, hs)
        values = splitHeads(this.v_proj!.forward(options.context), this.numKeyValueHeads, this.headDim);
        if (cache) {
          cache.keys = keys.detach();
          cache.values = values.detach();
        }
      }
      const q = splitHeads(this.q_proj!.forward(x), this.numHeads, this.headDim); // (B, NH, T, hs)
      result = attendHeads(q, keys, values, common);
    } else {
      if (options.memory && options.cache) throw new QkvValueError('MultiHeadAttention: use a KV cache or a Transformer-XL memory, not both');
      let source = x;
      if (options.memory) {
        const memory = options.memory;
        if (memory.ndim !== 3 || memory.shape[0] !== B || memory.shape[2] !== this.embedDim) {
          throw new QkvShapeError(`MultiHeadAttention: memory must be (B,M,C) = (${B},M,${this.embedDim}), got ${formatShape(memory.shape)}`);
        }
        source = concat([memory.detach(), x], 1); // (B, M + T, C): no gradient into the previous segment
      }
      const [q, k, v] = this.project(x, source);
      result = attendHeads(q, k, v, {
        ...common,
        causal: this.causal,
        rotaryTheta: this.rotaryTheta,
        positionBias: this.position_bias,
        cache: options.cache,
      });
    }
    this.attentionWeights = result.weights ?? null;
    const merged = result.output.transpose(1, 2).reshape([B, T, this.numHeads * this.headDim]); // (B, T, NH, hs) → (B, T, NH·hs)
    return this.o_proj.forward(merged);
  }
}
