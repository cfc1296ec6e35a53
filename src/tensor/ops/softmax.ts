// STUB: to be implemented: numerically stable softmax / logSoftmax with backward.
import type { Tensor } from '../tensor.ts';
export function softmax(x: Tensor, axis: number): Tensor { throw new Error('not implemented'); }
export function logSoftmax(x: Tensor, axis: number): Tensor { throw new Error('not implemented'); }
