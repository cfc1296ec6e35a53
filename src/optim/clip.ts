/**
 * Gradient clipping by global norm.
 *
 * reference: torch.nn.utils.clip_grad_norm_: the norm is taken over all gradients together,
 * as if they were concatenated into one vector, and every gradient is scaled by
 * maxNorm / (norm + 1e-6) when that is below 1, so the direction of the update is kept.
 */
import { elementwise, sumOfSquares } from '../kernels/index.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';

/**
 * The global `normType`-norm of the gradients of `params` (those without a gradient are left
 * out): (Σ|g|ᵖ)^(1/p), or max|g| for `Infinity`. Accumulated in float64.
 */
export function gradNorm(params: Iterable<Tensor>, normType = 2): number {
  if (!(normType > 0)) throw new QkvValueError(`gradNorm: normType must be > 0 or Infinity, got ${normType}`);
  let accumulated = 0;
  for (const param of params) {
    const grad = param.grad;
    if (grad === null) continue;
    if (normType === 2 && grad.isContiguous()) {
      // The usual case, on the kernels (native for large float32 gradients), no view allocated.
      accumulated += sumOfSquares(grad.data, grad.offset, grad.size);
      continue;
    }
    const values = grad.isContiguous() ? grad.data.subarray(grad.offset, grad.offset + grad.size) : grad.contiguousData();
    const n = values.length;
    if (normType === Infinity) {
      for (let i = 0; i < n; i++) {
        const magnitude = Math.abs(values[i]);
        // `!(a <= b)` lets a NaN through, so a NaN gradient gives a NaN norm.
        if (!(magnitude <= accumulated)) accumulated = magnitude;
      }
    } else if (normType === 2) {
      for (let i = 0; i < n; i++) accumulated += values[i] * values[i];
    } else if (normType === 1) {
      for (let i = 0; i < n; i++) accumulated += Math.abs(values[i]);
    } else {
      for (let i = 0; i < n; i++) accumulated += Math.abs(values[i]) ** normType;
    }
  }
  if (normType === Infinity || normType === 1) return accumulated;
  return normType === 2 ? Math.sqrt(accumulated) : accumulated ** (1 / normType);
}

/**
 * Scales the gradients of `params` in place so that their global norm is at most `maxNorm`,
 * and returns the norm measured before clipping. A non-finite norm (an overflow or NaN in
 * some gradient) is returned as is and nothing is scaled, so the caller can skip the step:
 *
 * @example
 * const norm = clipGradNorm(model.parameters(), 1.0);
 * if (Number.isFinite(norm)) optimizer.step();
 * optimizer.zeroGrad();
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): number {
  if (!(Number.isFinite(maxNorm) && maxNorm >= 0)) throw new QkvValueError(`clipGradNorm: maxNorm must be a finite number ≥ 0, got ${maxNorm}`);
  const list = [...params];
  const norm = gradNorm(list, normType);
  if (!Number.isFinite(norm)) return norm;
  // The 1e-6 keeps a zero norm from dividing by zero, as in PyTorch.
  const clipCoefficient = maxNorm / (norm + 1e-6);
  if (clipCoefficient >= 1) return norm;
  for (const param of list) {
    if (param.grad === null) continue;
    // Gradients written by backward() own contiguous storage; a view is replaced by a copy
    // so that scaling it cannot touch some other tensor's values.
    if (!param.grad.isContiguous() || param.grad.offset !== 0 || param.grad.data.length !== param.grad.size) {
      param.grad = param.grad.contiguousCopy();
    }
    scaleInPlace(param.grad.data, clipCoefficient);
  }
  return norm;
}

/**
 * values ·= coefficient, on the kernels: one native pass split across threads for a large float32
 * gradient (a JavaScript loop over the bench GPT's 0.8M gradient values was ~1 ms of every step,
 * on one thread). The coefficient is rounded to the gradient's dtype first, as torch's
 * `grad.mul_(clip_coef)` does for a float32 tensor.
 */
function scaleInPlace(values: Float32Array | Float64Array, coefficient: number): void {
  const scalar = values instanceof Float32Array ? Float32Array.of(coefficient) : Float64Array.of(coefficient);
  const layout = { shape: [values.length], outOffset: 0, outStrides: [1], aOffset: 0, aStrides: [1], bOffset: 0, bStrides: [0] };
  elementwise('mul', values, values, scalar, layout, values.length);
}
