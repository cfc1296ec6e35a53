/**
 * Shape arithmetic shared by every op: sizes, contiguous strides, axis normalisation and
 * NumPy broadcasting.
 */
import { QkvShapeError, QkvValueError, formatShape } from './errors.ts';

export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar shape `()`). */
export function numel(shape: Shape): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

/** Row-major (C order) strides of a contiguous tensor of this shape. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    strides[axis] = stride;
    stride *= shape[axis];
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Maps a possibly negative axis (-1 = last) into [0, rank); throws naming the op otherwise. */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new QkvValueError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * NumPy broadcasting: align shapes on the right; each pair of dims must be equal or one of
 * them 1. Returns the broadcast shape.
 */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const outAxis = rank - shape.length + i;
      const dim = shape[i];
      if (dim === out[outAxis] || dim === 1) continue;
      if (out[outAxis] === 1) {
        out[outAxis] = dim;
        continue;
      }
      throw new QkvShapeError(
        `${op}: cannot broadcast shapes ${shapes.map(formatShape).join(' and ')}: ` +
          `dimension ${outAxis} is ${out[outAxis]} in one and ${dim} in another`,
      );
    }
  }
  return out;
}

/**
 * Strides that read a tensor of `shape`/`strides` as if it had the (larger) broadcast shape
 * `target`: broadcast dims get stride 0.
 */
export function broadcastStrides(shape: Shape, strides: readonly number[], target: Shape): number[] {
  const out = new Array<number>(target.length).fill(0);
  const shift = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[shift + i] = shape[i] === 1 && target[shift + i] !== 1 ? 0 : strides[i];
  }
  return out;
}

/** Validates a user-given shape: non-negative integers. `-1` is resolved against `size` when given. */
export function resolveShape(op: string, shape: Shape, size?: number): number[] {
  const out = [...shape];
  let inferred = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const dim = out[i];
    if (dim === -1 && size !== undefined) {
      if (inferred !== -1) throw new QkvShapeError(`${op}: only one dimension of ${formatShape(shape)} can be -1`);
      inferred = i;
    } else if (!Number.isInteger(dim) || dim < 0) {
      throw new QkvShapeError(`${op}: invalid dimension ${dim} in shape ${formatShape(shape)}`);
    } else {
      known *= dim;
    }
  }
  if (inferred !== -1) {
    if (known === 0 || size! % known !== 0) {
      throw new QkvShapeError(`${op}: cannot infer -1 in ${formatShape(shape)} for ${size} elements`);
    }
    out[inferred] = size! / known;
  }
  return out;
}
