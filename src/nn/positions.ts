/**
 * Positional schemes, each in one place:
 *
 * - RoPE (`applyRotaryEmbedding`): rotates q and k by position-dependent angles, so q·k depends
 *   only on the relative offset (Su et al. 2021; Llama).
 *
 * Legend: B = batch, NH = heads, T = time, hs = head size, C = channels.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { concat } from '../tensor/ops/shape.ts';
import { Tensor, type DType } from '../tensor/tensor.ts';

// ---- RoPE ---------------------------------------------------------------------------------

interface RotaryTable {
  /** (rows, hs/2): cos(p · θ^(−2i/hs)) for position p and pair i. */
  cos: Tensor;
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
  const cos = Tensor.zeros([rows, half], { dtype });
  const sin = Tensor.zeros([rows, half], { dtype });
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
 * Built from differentiable tensor ops; the cos/sin tables are constants.
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
  const T = x.shape[2];
  const half = x.shape[3] / 2;
  const table = rotaryTable(positionOffset + T, x.shape[3], theta, x.dtype);
  const cos = table.cos.narrow(0, positionOffset, T); // (T, hs/2), broadcast over (B, NH)
  const sin = table.sin.narrow(0, positionOffset, T);
  const first = x.narrow(3, 0, half); // (B, NH, T, hs/2)
  const second = x.narrow(3, half, half);
  return concat([first.mul(cos).sub(second.mul(sin)), second.mul(cos).add(first.mul(sin))], 3); // (B, NH, T, hs)
}
