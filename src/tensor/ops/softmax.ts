/**
 * Softmax and log-softmax along an axis, each forward beside its backward; the loops are kernels
 * (src/kernels: native for float32 rows, `src/kernels/reference/softmax.ts` the oracle).
 */
import { attachGrad } from '../autograd.ts';
import { allocate, Tensor, type Storage } from '../tensor.ts';
import { normalizeAxis } from '../shape.ts';
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from '../../kernels/index.ts';
import { readDense } from './strided.ts';


/** The shape seen as (outer, C, inner) around `axis`. */
function splitAtAxis(x: Tensor, axis: number, op: string): { outer: number; C: number; inner: number } {
  if (x.ndim === 0) return { outer: 1, C: 1, inner: 1 };
  const dim = normalizeAxis(axis, x.ndim, op);
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < dim; i++) outer *= x.shape[i];
  for (let i = dim + 1; i < x.ndim; i++) inner *= x.shape[i];
  return { outer, C: x.shape[dim], inner };
}

/**
 * exp(x) / Σ exp(x) along `axis`, computed with the max subtracted, so logits of ±1e4 are fine.
 * A slice that is entirely −∞ (a fully masked attention row) gives zeros, not NaN, and passes
 * no gradient.
 *
 * @example softmax(Tensor.from([1, 2, 3]), -1) // [0.0900, 0.2447, 0.6652]
 */
export function softmax(x: Tensor, axis: number): Tensor {
  const { outer, C, inner } = splitAtAxis(x, axis, 'softmax');
  const out = allocate(x.dtype, x.size);
  softmaxForward(out, readDense(x), outer, C, inner);
  return attachGrad(new Tensor(out, x.shape), 'softmax', [x], (grad) => {
    const dx = allocate(x.dtype, x.size);
    softmaxBackward(dx, readDense(grad), out, outer, C, inner);
    return [new Tensor(dx, x.shape)];
  });
}

/**
 * log(softmax(x)) along `axis`, computed as x − max − log Σ exp(x − max) (never log of a
 * rounded-to-0 probability). A slice that is entirely −∞ gives −∞ throughout, and passes no
 * gradient.
 *
 * @example logSoftmax(Tensor.from([0, 0]), -1) // [−0.6931, −0.6931]
 */
export function logSoftmax(x: Tensor, axis: number): Tensor {
  const { outer, C, inner } = splitAtAxis(x, axis, 'logSoftmax');
  const out = allocate(x.dtype, x.size);
  logSoftmaxForward(out, readDense(x), outer, C, inner);
  return attachGrad(new Tensor(out, x.shape), 'logSoftmax', [x], (grad) => {
    const dx = allocate(x.dtype, x.size);
    logSoftmaxBackward(dx, readDense(grad), out, outer, C, inner);
    return [new Tensor(dx, x.shape)];
  });
}
