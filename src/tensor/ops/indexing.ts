// STUB: to be implemented: gathers and selection, each with backward.
import type { IndexLike, Tensor } from '../tensor.ts';
export function indexSelect(x: Tensor, axis: number, indices: IndexLike): Tensor { throw new Error('not implemented'); }
export function embedding(weight: Tensor, ids: IndexLike): Tensor { throw new Error('not implemented'); }
export function where(condition: Tensor, a: Tensor | number, b: Tensor | number): Tensor { throw new Error('not implemented'); }
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor { throw new Error('not implemented'); }
