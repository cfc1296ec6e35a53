// STUB: to be implemented: batched, broadcasting matmul with backward.
import type { Tensor } from '../tensor.ts';
export function matmul(a: Tensor, b: Tensor): Tensor { throw new Error('not implemented'); }
