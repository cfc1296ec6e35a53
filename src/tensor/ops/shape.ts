// STUB: to be implemented: views and shape ops, each with backward.
import type { Tensor } from '../tensor.ts';
export function reshape(x: Tensor, shape: number[]): Tensor { throw new Error('not implemented'); }
export function view(x: Tensor, shape: number[]): Tensor { throw new Error('not implemented'); }
export function permute(x: Tensor, axes: number[]): Tensor { throw new Error('not implemented'); }
export function transpose(x: Tensor, axis0: number, axis1: number): Tensor { throw new Error('not implemented'); }
export function expand(x: Tensor, shape: number[]): Tensor { throw new Error('not implemented'); }
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor { throw new Error('not implemented'); }
export function squeeze(x: Tensor, axis?: number): Tensor { throw new Error('not implemented'); }
export function unsqueeze(x: Tensor, axis: number): Tensor { throw new Error('not implemented'); }
export function flatten(x: Tensor, startAxis: number, endAxis: number): Tensor { throw new Error('not implemented'); }
export function split(x: Tensor, sizeOrSizes: number | number[], axis: number): Tensor[] { throw new Error('not implemented'); }
export function concat(tensors: readonly Tensor[], axis: number): Tensor { throw new Error('not implemented'); }
export function stack(tensors: readonly Tensor[], axis: number): Tensor { throw new Error('not implemented'); }
