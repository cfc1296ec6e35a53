/**
 * Scaled dot-product attention, the one place every attention in qkv goes through:
 *
 *   weights = softmax(Q·Kᵀ · scale + mask),  output = weights · V
 *
 * Legend: B = batch, NH = heads, Tq = query positions, Tk = key positions, hs = head size.
 * Q is (B, NH, Tq, hs); K and V are (B, NH, Tk, hs).
 *
 * Masks add −∞ (not a finite −1e4: a finite mask leaks weight when scores are large), so a
 * masked key gets weight exactly 0. A query row whose keys are all masked gets all-zero weights
 * and a zero output, never NaN (softmax's documented behaviour for an all −∞ row).
 *
 * The rest of attention builds on this file: `MultiHeadAttention` (projections, heads, GQA,
 * positions, KV cache, Transformer-XL memory) in `multi-head-attention.ts`, Bahdanau's
 * additive score in `additive-attention.ts`; both turn scores into weights here.
 */
import { persistentAllocation } from '../tensor/buffer-pool.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { mapUnary } from '../tensor/ops/broadcast.ts';
import { fusedAttention } from '../tensor/ops/attention.ts';
import { maskedFill } from '../tensor/ops/indexing.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { softmax } from '../tensor/ops/softmax.ts';
import { dropout } from '../tensor/ops/dropout.ts';
import type { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';

export interface AttentionOptions {
  /** Query i attends only to keys j ≤ i + queryOffset. */
  causal?: boolean;
  /**
   * Position of the first query among the keys: with a KV cache holding P past positions and
   * Tq new queries, Tk = P + Tq and the offset is P. Default Tk − Tq (queries are the last keys).
   */
  queryOffset?: number;
  /** (B, Tk): 1 for a real key, 0 for padding; padded keys get weight 0. */
  keyPaddingMask?: Tensor | null;
  /** Multiplies the scores; default 1/√hs. 1 switches scaling off (for the lab). */
  scale?: number;
  /** Dropout on the attention weights (training only). */
  dropout?: { p: number; training: boolean; rng?: Rng };
  /** Also return the (B, NH, Tq, Tk) weights, for inspection. */
  returnWeights?: boolean;
  /**
   * Added to the scaled scores before the masks: a positional bias such as ALiBi or T5's
   * relative-position bias, (B|1, NH|1, Tq, Tk).
   */
  attentionBias?: Tensor | null;
}

/** The options that turn scores into weights, shared by dot-product and additive attention. */
export type ScoreMaskOptions = Pick<AttentionOptions, 'causal' | 'queryOffset' | 'keyPaddingMask' | 'dropout' | 'attentionBias'>;

export interface AttentionResult {
  /** (B, NH, Tq, hs) */
  output: Tensor;
  /** (B, NH, Tq, Tk), when asked for. */
  weights?: Tensor;
}

const causalMaskCache = new Map<string, Tensor>();

/** (1, 1, Tq, Tk) mask, 1 where key j lies in query i's future (j > i + offset). Cached: it is the same every step. */
export function causalMask(queryLength: number, keyLength: number, queryOffset: number): Tensor {
  const key = `${queryLength},${keyLength},${queryOffset}`;
  let mask = causalMaskCache.get(key);
  if (mask === undefined) {
    mask = persistentAllocation(() => Tensor.zeros([1, 1, queryLength, keyLength])); // cached: never an inference scope's
    for (let i = 0; i < queryLength; i++) {
      for (let j = i + queryOffset + 1; j < keyLength; j++) mask.data[i * keyLength + j] = 1;
    }
    if (causalMaskCache.size > 64) causalMaskCache.clear();
    causalMaskCache.set(key, mask);
  }
  return mask;
}

/**
 * scores (B, NH|1, Tq, Tk) → attention weights: adds the positional bias, masks future and padded
 * keys with −∞, softmax over keys, then dropout. The one place masks are applied, for both the
 * dot-product and the additive score.
 */
export function attentionWeightsFromScores(scores: Tensor, options: ScoreMaskOptions = {}): Tensor {
  const [batch, , queryLength, keyLength] = scores.shape;
  if (options.attentionBias) {
    const bias = options.attentionBias;
    const fits = bias.ndim === 4 && bias.shape[2] === queryLength && bias.shape[3] === keyLength &&
      (bias.shape[0] === 1 || bias.shape[0] === batch) && (bias.shape[1] === 1 || bias.shape[1] === scores.shape[1]);
    if (!fits) {
      throw new QkvShapeError(`attention: attentionBias must be (B|1, NH|1, Tq, Tk) against scores ${formatShape(scores.shape)}, got ${formatShape(bias.shape)}`);
    }
    scores = scores.add(bias);
  }
  if (options.causal) {
    const offset = options.queryOffset ?? keyLength - queryLength;
    scores = maskedFill(scores, causalMask(queryLength, keyLength, offset), -Infinity);
  }
  if (options.keyPaddingMask) {
    const padding = options.keyPaddingMask;
    if (padding.ndim !== 2 || padding.shape[0] !== batch || padding.shape[1] !== keyLength) {
      throw new QkvShapeError(`attention: keyPaddingMask must be (B,Tk) = (${batch},${keyLength}), got ${formatShape(padding.shape)}`);
    }
    const isPadding = mapUnary(padding, (keep) => (keep === 0 ? 1 : 0)).reshape([batch, 1, 1, keyLength]); // (B, 1, 1, Tk), 1 where padded
    scores = maskedFill(scores, isPadding, -Infinity);
  }
  let weights = softmax(scores, -1);
  if (options.dropout && options.dropout.training && options.dropout.p > 0) {
    weights = dropout(weights, options.dropout.p, options.dropout);
  }
  return weights;
}

/**
 * softmax(Q·Kᵀ·scale + bias + masks)·V for q (B, NH, Tq, hs), k and v (B, NH, Tk, hs).
 *
 * @example
 * const { output } = scaledDotProductAttention(q, k, v, { causal: true }); // (B, NH, T, hs)
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): AttentionResult {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4 || q.shape[3] !== k.shape[3] || k.shape[2] !== v.shape[2]) {
    throw new QkvShapeError(
      `attention: expected q (B,NH,Tq,hs), k (B,NH,Tk,hs), v (B,NH,Tk,hs); got q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)}`,
    );
  }
  const headSize = q.shape[3];
  const scale = options.scale ?? 1 / Math.sqrt(headSize);
  if (canFuse(q, k, v, options)) {
    return { output: fusedAttention(q, k, v, { causal: options.causal, keyPaddingMask: options.keyPaddingMask, scale }) };
  }
  let scores = matmul(q, k.transpose(-2, -1)); // (B, NH, Tq, hs) · (B, NH, hs, Tk) → (B, NH, Tq, Tk)
  if (scale !== 1) scores = scores.mul(scale);
  const weights = attentionWeightsFromScores(scores, options);
  const output = matmul(weights, v); // (B, NH, Tq, Tk) · (B, NH, Tk, hs) → (B, NH, Tq, hs)
  return options.returnWeights ? { output, weights } : { output };
}

/**
 * Whether the fused kernel computes exactly what the composition would: float32 self-attention
 * with queries and keys over the same positions, and nothing between the scores and the softmax
 * but the causal and padding masks. `QKV_FUSED_ATTENTION=0` turns it off (for comparisons).
 */
function canFuse(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): boolean {
  if (process.env.QKV_FUSED_ATTENTION === '0') return false;
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32') return false;
  if (options.returnWeights || options.attentionBias) return false;
  if (options.dropout && options.dropout.training && options.dropout.p > 0) return false;
  const sameLength = q.shape[2] === k.shape[2] && (options.queryOffset ?? 0) === 0;
  return sameLength && q.shape[0] === k.shape[0] && q.shape[1] === k.shape[1];
}

/**
 * Grouped-query attention: each of the NHkv key/value heads serves nRep query heads, so
 * x (B, NHkv, T, hs) → (B, NHkv·nRep, T, hs) with output head h = input head ⌊h / nRep⌋
 * (Hugging Face's `repeat_kv`). nRep = 1 returns x itself.
 *
 * @example const keys = repeatKeyValueHeads(k, numHeads / numKeyValueHeads);
 */
export function repeatKeyValueHeads(x: Tensor, nRep: number): Tensor {
  if (!Number.isInteger(nRep) || nRep < 1) throw new QkvValueError(`repeatKeyValueHeads: nRep must be a positive integer, got ${nRep}`);
  if (x.ndim !== 4) throw new QkvShapeError(`repeatKeyValueHeads: expected x (B,NHkv,T,hs), got ${formatShape(x.shape)}`);
  if (nRep === 1) return x;
  const [B, NHkv, T, hs] = x.shape;
  return x.unsqueeze(2).expand([B, NHkv, nRep, T, hs]).reshape([B, NHkv * nRep, T, hs]); // (B, NHkv, nRep, T, hs) → (B, NH, T, hs)
}
