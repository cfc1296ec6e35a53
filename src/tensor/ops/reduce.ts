// STUB: to be implemented (sum, mean, variance, max with argmax), each with backward.
import type { Tensor } from '../tensor.ts';
export function sum(x: Tensor, axis?: number | number[], keepdim = false): Tensor { throw new Error('not implemented'); }
export function mean(x: Tensor, axis?: number | number[], keepdim = false): Tensor { throw new Error('not implemented'); }
export function variance(x: Tensor, axis?: number | number[], options: { keepdim?: boolean; unbiased?: boolean } = {}): Tensor { throw new Error('not implemented'); }
export function max(x: Tensor, axis: number, keepdim = false): { values: Tensor; indices: Tensor } { throw new Error('not implemented'); }
