/**
 * Strided-layout helpers shared by the op files: precomputed offsets, dense reads, axis
 * coalescing, row-wise strided copies, and the stride arithmetic that decides whether a reshape
 * can be a view.
 */
import { elementwise } from '../../kernels/index.ts';
import type { Storage, Tensor } from '../tensor.ts';
import { contiguousStrides, numel, type Shape } from '../shape.ts';

/**
 * Storage offsets of every index of `dims` in row-major order, under `strides`, starting at
 * `base`. Reductions and gathers precompute these once per call so their inner loops are plain
 * array reads instead of an odometer or a closure per element.
 */
export function stridedOffsets(dims: Shape, strides: readonly number[], base = 0): Int32Array {
  const size = numel(dims);
  const out = new Int32Array(size);
  if (size === 0) return out;
  const rank = dims.length;
  if (rank === 0) {
    out[0] = base;
    return out;
  }
  const index = new Array<number>(rank).fill(0);
  const innerSize = dims[rank - 1];
  const innerStride = strides[rank - 1];
  let position = base;
  for (let start = 0; start < size; start += innerSize) {
    for (let i = 0; i < innerSize; i++) out[start + i] = position + i * innerStride;
    // advance the outer axes like an odometer
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]++;
      position += strides[axis];
      if (index[axis] < dims[axis]) break;
      position -= strides[axis] * dims[axis];
      index[axis] = 0;
    }
  }
  return out;
}

/**
 * The elements of `t` in row-major order: a view of its own storage when it is already dense
 * (no copy; read it, do not write it), else a contiguous copy.
 */
export function readDense(t: Tensor): Storage {
  return t.isContiguous() ? t.data.subarray(t.offset, t.offset + t.size) : t.contiguousData();
}

/** A shape and the strides of two operands over it, after `coalesceAxes`. */
export interface CoalescedLayout {
  readonly shape: number[];
  readonly stridesA: number[];
  readonly stridesB: number[];
}

/**
 * The same walk over `shape` with fewer axes: size-1 axes are dropped, and an axis is merged
 * into the next-inner one when, for both operands, stepping it once equals stepping the inner
 * axis all the way (outer stride = inner stride × inner size). A dense (B,T,C) + (B,T,C)
 * becomes one axis of B·T·C; a bias (B,T,C) + (C) becomes (B·T, C) with strides (C, 1) and
 * (0, 1); a scalar operand has stride 0 throughout. Loops then run long rows instead of
 * restarting an odometer every C elements. The row-major visiting order is unchanged.
 */
export function coalesceAxes(shape: Shape, stridesA: readonly number[], stridesB: readonly number[]): CoalescedLayout {
  const dims: number[] = [];
  const outA: number[] = [];
  const outB: number[] = [];
  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis];
    if (dim === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && outA[last] === stridesA[axis] * dim && outB[last] === stridesB[axis] * dim) {
      dims[last] *= dim;
      outA[last] = stridesA[axis];
      outB[last] = stridesB[axis];
    } else {
      dims.push(dim);
      outA.push(stridesA[axis]);
      outB.push(stridesB[axis]);
    }
  }
  return { shape: dims, stridesA: outA, stridesB: outB };
}

/**
 * Copies `source` (any layout) into the window of `target` storage described by
 * `targetStrides` (over source's shape) and `targetOffset`. Axes are coalesced first, so a
 * copy between two dense layouts is one row; the rows run on the kernels' `elementwise`.
 */
export function copyStrided(target: Storage, targetOffset: number, targetStrides: readonly number[], source: Tensor): void {
  const size = source.size;
  if (size === 0) return;
  const { shape, stridesA: fromStrides, stridesB: toStrides } = coalesceAxes(source.shape, source.strides, targetStrides);
  elementwise('copy', target, source.data, null, {
    shape, outOffset: targetOffset, outStrides: toStrides, aOffset: source.offset, aStrides: fromStrides, bOffset: 0, bStrides: fromStrides.map(() => 0),
  }, size);
}

/**
 * Strides that read `shape`/`strides` as `newShape` without copying, or null when no such
 * strides exist (e.g. flattening a transposed matrix). Dims are grouped into runs that are
 * contiguous with each other; each run can be re-split freely. Same rule as PyTorch's
 * `computeStride`.
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | null {
  if (shape.length === 0 || numel(shape) === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length);
  let viewAxis = newShape.length - 1;
  let chunkBaseStride = strides[strides.length - 1];
  let chunkSize = 1;
  let viewSize = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    chunkSize *= shape[axis];
    // A run ends where the next-outer dim does not continue it.
    const runEnds = axis === 0 || (shape[axis - 1] !== 1 && strides[axis - 1] !== chunkSize * chunkBaseStride);
    if (!runEnds) continue;
    while (viewAxis >= 0 && (viewSize < chunkSize || newShape[viewAxis] === 1)) {
      newStrides[viewAxis] = viewSize * chunkBaseStride;
      viewSize *= newShape[viewAxis];
      viewAxis--;
    }
    if (viewSize !== chunkSize) return null;
    if (axis > 0) {
      chunkBaseStride = strides[axis - 1];
      chunkSize = 1;
      viewSize = 1;
    }
  }
  return viewAxis === -1 ? newStrides : null;
}
