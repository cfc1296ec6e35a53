/**
 * Inverted dropout: while training, each element is zeroed with probability p and the survivors
 * are scaled by 1/(1 − p), so the expected value of every element is unchanged and eval mode
 * needs no rescaling — it is the identity.
 */
import { attachGrad } from '../autograd.ts';
import { QkvValueError } from '../errors.ts';
import { allocate, Tensor, type Storage } from '../tensor.ts';
import { defaultRng, type Rng } from '../random.ts';
import { readDense } from './strided.ts';

export interface DropoutOptions {
  /** Drop elements only when true; otherwise return `x` itself. */
  training: boolean;
  /** Generator for the mask (default: the global seeded one, see `manualSeed`). */
  rng?: Rng;
}


/**
 * Zeroes each element with probability `p` and scales the rest by 1/(1 − p) when training;
 * returns `x` unchanged when not training or p = 0, and zeros when p = 1. One draw of `rng` per
 * element, so the same seed gives the same mask; the backward pass reuses that mask.
 *
 * @example dropout(attentionWeights, 0.1, { training: this.training, rng })
 */
export function dropout(x: Tensor, p: number, options: DropoutOptions): Tensor {
  if (!(p >= 0 && p <= 1)) throw new QkvValueError(`dropout: p must be in [0, 1], got ${p}`);
  if (!options.training || p === 0) return x;
  const size = x.size;
  const out = allocate(x.dtype, size);
  if (p === 1) {
    // Every element dropped: 1/(1 − p) would be ∞, and 0·∞ is NaN, so no scaling at all.
    return attachGrad(new Tensor(out, x.shape), 'dropout', [x], () => [Tensor.zeros(x.shape, { dtype: x.dtype })]);
  }
  const rng = options.rng ?? defaultRng;
  // keep ⇔ u ≥ p for u uniform on [0, 1), drawn as a 32-bit integer: one draw per element
  const dropBelow = p * 4294967296;
  const scale = 1 / (1 - p);
  const keep = new Uint8Array(size);
  const inp = readDense(x);
  for (let i = 0; i < size; i++) {
    if (rng.nextUint32() >= dropBelow) {
      keep[i] = 1;
      out[i] = inp[i] * scale;
    }
  }
  return attachGrad(new Tensor(out, x.shape), 'dropout', [x], (grad) => {
    const g = readDense(grad);
    const dx = allocate(x.dtype, size);
    for (let i = 0; i < size; i++) if (keep[i] === 1) dx[i] = g[i] * scale;
    return [new Tensor(dx, x.shape)];
  });
}
