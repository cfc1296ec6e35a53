/**
 * Positional schemes, each in one place:
 *
 * - sinusoidal (`sinusoidalPositionEncoding`): fixed sin/cos of geometric frequencies, added to the
 *   token embeddings (Vaswani et al. 2017);
 * - learned absolute: an `Embedding` indexed by position (GPT-2's `wpe`), nothing to add here;
 * - RoPE (`applyRotaryEmbedding`): rotates q and k by position-dependent angles, so q·k depends
 *   only on the relative offset (Su et al. 2021; Llama);
 * - ALiBi (`ALiBi`): a fixed per-head linear penalty −slope·|i − j| on the scores (Press et al. 2022);
 * - T5 relative-position bias (`RelativePositionBias`): a learned per-head bias per log-spaced
 *   bucket of the key − query offset (Raffel et al. 2020).
 *
 * The last two are `AttentionBiasProvider`s: they give the (1, NH, Tq, Tk) tensor that attention
 * adds to its scores (`attentionBias`).
 *
 * Legend: B = batch, NH = heads, T = time, hs = head size, C = channels.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { embedding } from '../tensor/ops/indexing.ts';
import { rotaryEmbedding } from '../tensor/ops/rope.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { persistentAllocation } from '../tensor/buffer-pool.ts';
import { Tensor, type DType } from '../tensor/tensor.ts';
import { normal_ } from './init.ts';
import { Module } from './module.ts';
import { Parameter } from './parameter.ts';

/** The positional schemes a model can be configured with (GPT's `position`). */
export type PositionScheme = 'learned' | 'sinusoidal' | 'rope' | 'alibi' | 'relative' | 'none';
export const POSITION_SCHEMES: readonly PositionScheme[] = ['learned', 'sinusoidal', 'rope', 'alibi', 'relative', 'none'];

/** A positional bias on the attention scores, for queries at positions queryOffset… among Tk keys. */
export interface AttentionBiasProvider {
  /** (1, NH, Tq, Tk): added to the scores of query i (position queryOffset + i) and key j (position j). */
  bias(queryLength: number, keyLength: number, queryOffset: number): Tensor;
}

// ---- sinusoidal -----------------------------------------------------------------------------

/**
 * Vaswani et al.'s fixed encoding, (length, dim) for positions offset … offset + length − 1:
 *
 *   PE(p, 2i) = sin(p / base^(2i/dim)),  PE(p, 2i + 1) = cos(p / base^(2i/dim))
 *
 * @example x = tokens.add(sinusoidalPositionEncoding(T, C)); // (B, T, C) + (T, C)
 */
export function sinusoidalPositionEncoding(length: number, dim: number, options: { offset?: number; base?: number; dtype?: DType } = {}): Tensor {
  for (const [name, value] of [['length', length], ['dim', dim]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new QkvValueError(`sinusoidalPositionEncoding: ${name} must be a non-negative integer, got ${value}`);
  }
  const offset = options.offset ?? 0;
  const base = options.base ?? 10000;
  const table = Tensor.zeros([length, dim], { dtype: options.dtype });
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < dim; i += 2) {
      const angle = (offset + t) / Math.pow(base, i / dim);
      table.data[t * dim + i] = Math.sin(angle);
      if (i + 1 < dim) table.data[t * dim + i + 1] = Math.cos(angle);
    }
  }
  return table;
}

// ---- RoPE ---------------------------------------------------------------------------------

interface RotaryTable {
  /** (rows, hs/2): cos(p · θ^(−2i/hs)) for position p and pair i. */
  cos: Tensor;
  /** (rows, hs/2): sin of the same angles. */
  sin: Tensor;
}

const rotaryTables = new Map<string, RotaryTable>();

/**
 * cos/sin tables covering at least `length` positions. Cached per (θ, hs, dtype) and grown by
 * doubling, so decoding one token at a time does not rebuild them every step.
 */
function rotaryTable(length: number, headSize: number, theta: number, dtype: DType): RotaryTable {
  const key = `${theta},${headSize},${dtype}`;
  const cached = rotaryTables.get(key);
  if (cached !== undefined && cached.cos.shape[0] >= length) return cached;
  const rows = Math.max(length, 2 * (cached?.cos.shape[0] ?? 32));
  const half = headSize / 2;
  // Kept across steps: never part of an inference scope's buffers.
  const [cos, sin] = persistentAllocation(() => [Tensor.zeros([rows, half], { dtype }), Tensor.zeros([rows, half], { dtype })]);
  for (let i = 0; i < half; i++) {
    // HF Llama: inv_freq = 1 / θ^(arange(0, hs, 2) / hs)
    const inverseFrequency = 1 / Math.pow(theta, (2 * i) / headSize);
    for (let position = 0; position < rows; position++) {
      const angle = position * inverseFrequency;
      cos.data[position * half + i] = Math.cos(angle);
      sin.data[position * half + i] = Math.sin(angle);
    }
  }
  const table = { cos, sin };
  rotaryTables.set(key, table);
  return table;
}

/**
 * Rotary position embedding of x (B, NH, T, hs) whose first position is `positionOffset`
 * (the number of positions already in the KV cache). Hugging Face Llama's "rotate_half"
 * convention: element i is paired with element i + hs/2 and the pair is rotated by the angle
 * p · θ^(−2i/hs), so Llama checkpoints interchange:
 *
 *   out[..., i]        = x[..., i] · cos − x[..., i + hs/2] · sin
 *   out[..., i + hs/2] = x[..., i + hs/2] · cos + x[..., i] · sin
 *
 * One fused kernel pass (`rotaryEmbedding`, src/tensor/ops/rope.ts) that reads x in place, where
 * HF's x · cos + rotate_half(x) · sin took a copy and three elementwise passes (the same float32
 * bits: each product and sum rounds once either way). The backward is the rotation by −angle.
 *
 * @example
 * const qRotated = applyRotaryEmbedding(q, cache.length); // q (B, NH, T, hs)
 */
export function applyRotaryEmbedding(x: Tensor, positionOffset: number, theta = 10000): Tensor {
  if (x.ndim !== 4 || x.shape[3] % 2 !== 0) {
    throw new QkvShapeError(`applyRotaryEmbedding: expected x (B,NH,T,hs) with an even head size hs, got ${formatShape(x.shape)}`);
  }
  if (!Number.isInteger(positionOffset) || positionOffset < 0) {
    throw new QkvValueError(`applyRotaryEmbedding: positionOffset must be a non-negative integer, got ${positionOffset}`);
  }
  if (!(theta > 0)) throw new QkvValueError(`applyRotaryEmbedding: theta must be positive, got ${theta}`);
  const table = rotaryTable(positionOffset + x.shape[2], x.shape[3], theta, x.dtype);
  return rotaryEmbedding(x, table.cos, table.sin, positionOffset); // (B, NH, T, hs)
}

// ---- ALiBi ---------------------------------------------------------------------------------

/**
 * ALiBi's head slopes (Press et al. 2022, and their reference code): for n a power of two, the
 * geometric sequence 2^(−8/n), 2^(−16/n), …, 2^(−8); otherwise the n' = 2^⌊log₂ n⌋ slopes of
 * that sequence followed by every other slope of the 2n' sequence, n − n' of them.
 *
 * @example alibiSlopes(8) // [1/2, 1/4, …, 1/256]
 */
export function alibiSlopes(numHeads: number): number[] {
  if (!Number.isInteger(numHeads) || numHeads <= 0) throw new QkvValueError(`alibiSlopes: numHeads must be a positive integer, got ${numHeads}`);
  const geometric = (n: number): number[] => {
    const start = Math.pow(2, -8 / n);
    return Array.from({ length: n }, (_, i) => Math.pow(start, i + 1));
  };
  const powerOfTwo = 2 ** Math.floor(Math.log2(numHeads));
  const slopes = geometric(powerOfTwo);
  if (powerOfTwo === numHeads) return slopes;
  const interleaved = geometric(2 * powerOfTwo).filter((_, i) => i % 2 === 0);
  return [...slopes, ...interleaved.slice(0, numHeads - powerOfTwo)];
}

/**
 * ALiBi: no position embedding; each head's score for query position i and key position j gets
 * −slope·(i − j), a penalty growing linearly with distance. Future keys (j > i) are masked in a
 * causal model; used bidirectionally the bias is −slope·|i − j|.
 *
 * @example
 * const alibi = new ALiBi(8);
 * scaledDotProductAttention(q, k, v, { causal: true, attentionBias: alibi.bias(T, T, 0) });
 */
export class ALiBi implements AttentionBiasProvider {
  readonly slopes: number[];

  constructor(readonly numHeads: number, readonly options: { dtype?: DType } = {}) {
    this.slopes = alibiSlopes(numHeads);
  }

  bias(queryLength: number, keyLength: number, queryOffset: number): Tensor {
    const NH = this.numHeads;
    const out = Tensor.zeros([1, NH, queryLength, keyLength], { dtype: this.options.dtype });
    for (let h = 0; h < NH; h++) {
      const slope = this.slopes[h];
      for (let i = 0; i < queryLength; i++) {
        const row = (h * queryLength + i) * keyLength;
        for (let j = 0; j < keyLength; j++) out.data[row + j] = 0 - slope * Math.abs(queryOffset + i - j); // 0 − …: +0 on the diagonal, not −0
      }
    }
    return out;
  }
}

// ---- T5 relative-position bias --------------------------------------------------------------

/**
 * T5's bucket for relativePosition = key position − query position (Hugging Face
 * `T5Attention._relative_position_bucket`, float32 arithmetic as there). Bidirectional: half the
 * buckets for keys after the query. Of each half, the first half are exact offsets 0, 1, …;
 * the rest cover offsets up to maxDistance logarithmically; farther offsets share the last bucket.
 * Causal (not bidirectional): keys after the query all fall in bucket 0.
 *
 * @example relativePositionBucket(-20, true, 32, 128) // 10; relativePositionBucket(1, true) // 17
 */
export function relativePositionBucket(relativePosition: number, bidirectional = true, numBuckets = 32, maxDistance = 128): number {
  let bucket = 0;
  let buckets = numBuckets;
  let distance: number;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relativePosition > 0) bucket += buckets;
    distance = Math.abs(relativePosition);
  } else {
    distance = -Math.min(relativePosition, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (distance < maxExact) return bucket + distance;
  const f = Math.fround;
  const logRatio = f(f(Math.log(f(distance / maxExact))) / f(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f(logRatio * (buckets - maxExact)));
  return bucket + Math.min(large, buckets - 1);
}

export interface RelativePositionBiasOptions {
  /** Keys after the query get their own buckets (encoders); false for causal decoders. Default true. */
  bidirectional?: boolean;
  /** T5: 32. */
  numBuckets?: number;
  /** Offsets beyond this share the last bucket (T5: 128). */
  maxDistance?: number;
  /** Std of the normal initialisation (default 0.02). */
  std?: number;
  rng?: Rng;
  dtype?: DType;
}

/**
 * T5's learned relative-position bias: one scalar per (bucket, head), looked up by the bucket of
 * each (query, key) offset. `weight` is (numBuckets, NH), Hugging Face T5's
 * `relative_attention_bias.weight` layout (name the owning property `relative_attention_bias`).
 *
 * @example
 * const relative = new RelativePositionBias(8, { bidirectional: false });
 * const bias = relative.bias(T, P + T, P); // (1, 8, T, P + T), trains with the model
 */
export class RelativePositionBias extends Module implements AttentionBiasProvider {
  readonly bidirectional: boolean;
  readonly numBuckets: number;
  readonly maxDistance: number;
  /** (numBuckets, NH). */
  weight: Parameter;
  #bucketCache = new Map<string, Int32Array>();

  constructor(readonly numHeads: number, options: RelativePositionBiasOptions = {}) {
    super();
    this.bidirectional = options.bidirectional ?? true;
    this.numBuckets = options.numBuckets ?? 32;
    this.maxDistance = options.maxDistance ?? 128;
    for (const [name, value] of [['numHeads', numHeads], ['numBuckets', this.numBuckets], ['maxDistance', this.maxDistance]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new QkvValueError(`RelativePositionBias: ${name} must be a positive integer, got ${value}`);
    }
    this.weight = new Parameter(Tensor.zeros([this.numBuckets, numHeads], { dtype: options.dtype }));
    normal_(this.weight, 0, options.std ?? 0.02, options.rng ?? defaultRng);
  }

  override extraRepr(): string {
    return `heads=${this.numHeads}, buckets=${this.numBuckets}, max_distance=${this.maxDistance}, bidirectional=${this.bidirectional}`;
  }

  /** (Tq·Tk) bucket ids of key j − query (queryOffset + i), cached: the same every step. */
  buckets(queryLength: number, keyLength: number, queryOffset: number): Int32Array {
    const key = `${queryLength},${keyLength},${queryOffset}`;
    let ids = this.#bucketCache.get(key);
    if (ids === undefined) {
      ids = new Int32Array(queryLength * keyLength);
      for (let i = 0; i < queryLength; i++) {
        for (let j = 0; j < keyLength; j++) {
          ids[i * keyLength + j] = relativePositionBucket(j - (queryOffset + i), this.bidirectional, this.numBuckets, this.maxDistance);
        }
      }
      if (this.#bucketCache.size > 64) this.#bucketCache.clear();
      this.#bucketCache.set(key, ids);
    }
    return ids;
  }

  bias(queryLength: number, keyLength: number, queryOffset: number): Tensor {
    const perPair = embedding(this.weight, this.buckets(queryLength, keyLength, queryOffset)); // (Tq·Tk, NH)
    return perPair.reshape([1, queryLength, keyLength, this.numHeads]).permute([0, 3, 1, 2]); // (1, NH, Tq, Tk)
  }
}
