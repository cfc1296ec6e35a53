/**
 * Shape ops. Most are views: they return a tensor over the same storage (`out.data === x.data`)
 * with a new shape, strides and offset, and copy nothing. Only `reshape` of a layout that cannot
 * be viewed, `concat` and `stack` write new storage.
 *
 * Each forward is followed by its backward, which maps the output gradient back to the input's
 * shape: the inverse permutation for permute, a sum over the broadcast axes for expand, zero
 * padding around the window for narrow. Backward of a view may itself return a view of the
 * gradient (a permuted or reshaped one), so ops must read gradients through their strides, as
 * they read any input.
 */
import { attachGrad } from '../autograd.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../errors.ts';
import { allocate, Tensor, type Storage } from '../tensor.ts';
import { contiguousStrides, normalizeAxis, numel, resolveShape, shapesEqual, type Shape } from '../shape.ts';
import { reduceToShape } from './reduce.ts';
import { copyStrided, readDense, viewStrides } from './strided.ts';

function checkElementCount(op: string, x: Tensor, shape: number[]): number[] {
  const dims = resolveShape(op, shape, x.size);
  if (numel(dims) !== x.size) {
    throw new QkvShapeError(`${op}: cannot view ${formatShape(x.shape)} as ${formatShape(dims)}: ${x.size} elements vs ${numel(dims)}`);
  }
  return dims;
}

// ---- reshape / view ------------------------------------------------------------------------

/**
 * Same elements in row-major order under a new shape (one dim may be -1). A view when the
 * layout allows it (always for contiguous input), otherwise a contiguous copy.
 *
 * @example Tensor.arange(6).reshape(2, -1) // (2,3)
 */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const dims = checkElementCount('reshape', x, shape);
  const strides = viewStrides(x.shape, x.strides, dims);
  const out = strides === null ? new Tensor(x.contiguousData(), dims) : new Tensor(x.data, dims, strides, x.offset);
  return attachGrad(out, 'reshape', [x], (grad) => [reshape(grad, [...x.shape])]);
}

/**
 * Like `reshape`, but never copies: throws a QkvShapeError when the layout cannot be viewed
 * under the new shape (call `.contiguous()` first, or use `reshape`).
 */
export function view(x: Tensor, shape: number[]): Tensor {
  const dims = checkElementCount('view', x, shape);
  const strides = viewStrides(x.shape, x.strides, dims);
  if (strides === null) {
    throw new QkvShapeError(
      `view: cannot view ${formatShape(x.shape)} with strides ${formatShape(x.strides)} as ${formatShape(dims)} without copying; ` +
        'use reshape, or call contiguous() first',
    );
  }
  const out = new Tensor(x.data, dims, strides, x.offset);
  return attachGrad(out, 'view', [x], (grad) => [reshape(grad, [...x.shape])]);
}

// ---- permute / transpose -------------------------------------------------------------------

/** Reorders the axes: output axis i is input axis `axes[i]`. A view. */
export function permute(x: Tensor, axes: number[]): Tensor {
  const rank = x.ndim;
  if (axes.length !== rank) {
    throw new QkvShapeError(`permute: ${axes.length} axes [${axes.join(',')}] given for shape ${formatShape(x.shape)} of rank ${rank}`);
  }
  const order = axes.map((axis) => normalizeAxis(axis, rank, 'permute'));
  const seen = new Array<boolean>(rank).fill(false);
  for (const axis of order) {
    if (seen[axis]) throw new QkvValueError(`permute: axes [${axes.join(',')}] repeat axis ${axis} (shape ${formatShape(x.shape)})`);
    seen[axis] = true;
  }
  const out = new Tensor(
    x.data,
    order.map((axis) => x.shape[axis]),
    order.map((axis) => x.strides[axis]),
    x.offset,
  );
  return attachGrad(out, 'permute', [x], (grad) => {
    const inverse = new Array<number>(rank);
    for (let i = 0; i < rank; i++) inverse[order[i]] = i;
    return [permute(grad, inverse)];
  });
}

/** Swaps two axes. A view. */
export function transpose(x: Tensor, axis0: number, axis1: number): Tensor {
  const rank = x.ndim;
  const a = normalizeAxis(axis0, rank, 'transpose');
  const b = normalizeAxis(axis1, rank, 'transpose');
  const order = Array.from({ length: rank }, (_, i) => i);
  order[a] = b;
  order[b] = a;
  // Rank 0: normalizeAxis accepted 0/-1, nothing to swap.
  return rank === 0 ? permute(x, []) : permute(x, order);
}

// ---- expand --------------------------------------------------------------------------------

/**
 * Broadcasts size-1 dims (and new leading dims) to `shape` without copying: those axes get
 * stride 0. `-1` keeps a dim. Backward sums the gradient over the broadcast axes.
 *
 * @example Tensor.from([[1], [2]]).expand(2, 3) // [[1,1,1],[2,2,2]]
 */
export function expand(x: Tensor, shape: number[]): Tensor {
  const rank = shape.length;
  const shift = rank - x.ndim;
  if (shift < 0) {
    throw new QkvShapeError(`expand: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)}: the target has fewer dims`);
  }
  const dims = new Array<number>(rank);
  const strides = new Array<number>(rank);
  for (let axis = 0; axis < rank; axis++) {
    const target = shape[axis];
    const inputAxis = axis - shift;
    if (inputAxis < 0) {
      if (!Number.isInteger(target) || target < 0) {
        throw new QkvShapeError(`expand: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)}: new dim ${axis} must be a size >= 0, got ${target}`);
      }
      dims[axis] = target;
      strides[axis] = 0;
      continue;
    }
    const dim = x.shape[inputAxis];
    if (target === -1 || target === dim) {
      dims[axis] = dim;
      strides[axis] = x.strides[inputAxis];
    } else if (dim === 1 && Number.isInteger(target) && target >= 0) {
      dims[axis] = target;
      strides[axis] = 0;
    } else {
      throw new QkvShapeError(
        `expand: cannot expand ${formatShape(x.shape)} to ${formatShape(shape)}: dimension ${axis} is ${dim}, not 1, and the target is ${target}`,
      );
    }
  }
  const out = new Tensor(x.data, dims, strides, x.offset);
  return attachGrad(out, 'expand', [x], (grad) => [reduceToShape(grad, x.shape)]);
}

// ---- narrow / slice / split ----------------------------------------------------------------

/**
 * `length` elements of `axis` from `start` (negative counts from the end). A view: only the
 * offset and the size change. Backward pads the gradient with zeros outside the window.
 *
 * @example Tensor.arange(10).narrow(0, 2, 3) // [2,3,4]
 */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const ax = normalizeAxis(axis, x.ndim, 'narrow');
  if (x.ndim === 0) throw new QkvShapeError('narrow: a scalar () has no axis to narrow');
  const size = x.shape[ax];
  const first = start < 0 ? start + size : start;
  if (!Number.isInteger(start) || !Number.isInteger(length) || length < 0 || first < 0 || first + length > size) {
    throw new QkvValueError(
      `narrow: start ${start} and length ${length} do not fit axis ${axis} of size ${size} in shape ${formatShape(x.shape)}`,
    );
  }
  const dims = [...x.shape];
  dims[ax] = length;
  const out = new Tensor(x.data, dims, x.strides, x.offset + first * x.strides[ax]);
  return attachGrad(out, 'narrow', [x], (grad) => [padNarrowGrad(grad, x.shape, ax, first)]);
}

/** Zeros of `shape` with `grad` written into the window that narrow(axis, start, …) cut out. */
function padNarrowGrad(grad: Tensor, shape: Shape, axis: number, start: number): Tensor {
  const out = allocate(grad.dtype, numel(shape));
  const strides = contiguousStrides(shape);
  copyStrided(out, start * strides[axis], strides, grad);
  return new Tensor(out, shape);
}

/**
 * Python-style `x[start:end]` along `axis`: negative indices count from the end, out-of-range
 * bounds are clamped, an empty range gives a zero-size axis. A view (see `narrow`).
 *
 * @example slice(x, -1, 0, -1) // all but the last column
 */
export function slice(x: Tensor, axis: number, start = 0, end?: number): Tensor {
  const ax = normalizeAxis(axis, x.ndim, 'slice');
  if (x.ndim === 0) throw new QkvShapeError('slice: a scalar () has no axis to slice');
  const size = x.shape[ax];
  const clamp = (i: number): number => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const first = clamp(start);
  const last = end === undefined ? size : clamp(end);
  return narrow(x, ax, first, Math.max(0, last - first));
}

/**
 * Views of consecutive pieces along `axis`: a number gives pieces of that size (the last may be
 * smaller), a list gives the sizes, which must add up to the axis.
 *
 * @example const [q, k, v] = split(qkv, 768, -1); // (B,T,3C) -> three (B,T,C)
 */
export function split(x: Tensor, sizeOrSizes: number | number[], axis: number): Tensor[] {
  const ax = normalizeAxis(axis, x.ndim, 'split');
  if (x.ndim === 0) throw new QkvShapeError('split: a scalar () has no axis to split');
  const total = x.shape[ax];
  let sizes: number[];
  if (typeof sizeOrSizes === 'number') {
    if (!Number.isInteger(sizeOrSizes) || sizeOrSizes <= 0) {
      throw new QkvValueError(`split: piece size must be a positive integer, got ${sizeOrSizes} (shape ${formatShape(x.shape)})`);
    }
    sizes = [];
    for (let start = 0; start < total; start += sizeOrSizes) sizes.push(Math.min(sizeOrSizes, total - start));
    if (total === 0) sizes.push(0);
  } else {
    sizes = sizeOrSizes;
    const sum = sizes.reduce((a, b) => a + b, 0);
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sum !== total) {
      throw new QkvShapeError(
        `split: sizes [${sizes.join(',')}] add up to ${sum}, but axis ${axis} of ${formatShape(x.shape)} has size ${total}`,
      );
    }
  }
  const pieces: Tensor[] = [];
  let start = 0;
  for (const size of sizes) {
    pieces.push(narrow(x, ax, start, size));
    start += size;
  }
  return pieces;
}

// ---- squeeze / unsqueeze / flatten ---------------------------------------------------------

/**
 * Removes size-1 dims: all of them, or only `axis` (a no-op when that dim is not 1, as in
 * PyTorch). A view.
 */
export function squeeze(x: Tensor, axis?: number): Tensor {
  let keep: (dim: number, axisIndex: number) => boolean;
  if (axis === undefined) {
    keep = (dim) => dim !== 1;
  } else {
    const ax = normalizeAxis(axis, x.ndim, 'squeeze');
    keep = (dim, i) => i !== ax || dim !== 1;
  }
  const dims: number[] = [];
  const strides: number[] = [];
  x.shape.forEach((dim, i) => {
    if (keep(dim, i)) {
      dims.push(dim);
      strides.push(x.strides[i]);
    }
  });
  const out = new Tensor(x.data, dims, strides, x.offset);
  return attachGrad(out, 'squeeze', [x], (grad) => [reshape(grad, [...x.shape])]);
}

/** Inserts a size-1 dim at `axis` (in [-(rank+1), rank]). A view. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const rank = x.ndim;
  if (!Number.isInteger(axis) || axis < -(rank + 1) || axis > rank) {
    throw new QkvValueError(`unsqueeze: axis ${axis} is out of range for shape ${formatShape(x.shape)} (allowed ${-(rank + 1)}..${rank})`);
  }
  const ax = axis < 0 ? axis + rank + 1 : axis;
  const dims = [...x.shape];
  const strides = [...x.strides];
  // Any stride works for a size-1 dim; this one keeps a contiguous input contiguous.
  const stride = ax < rank ? x.strides[ax] * x.shape[ax] : 1;
  dims.splice(ax, 0, 1);
  strides.splice(ax, 0, stride);
  const out = new Tensor(x.data, dims, strides, x.offset);
  return attachGrad(out, 'unsqueeze', [x], (grad) => [reshape(grad, [...x.shape])]);
}

/**
 * Merges axes `startAxis..endAxis` (inclusive, negative allowed) into one. A view when possible
 * (see `reshape`). A scalar flattens to (1).
 */
export function flatten(x: Tensor, startAxis: number, endAxis: number): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const start = normalizeAxis(startAxis, x.ndim, 'flatten');
  const end = normalizeAxis(endAxis, x.ndim, 'flatten');
  if (start > end) {
    throw new QkvValueError(`flatten: start axis ${startAxis} comes after end axis ${endAxis} in shape ${formatShape(x.shape)}`);
  }
  const dims = [...x.shape.slice(0, start), numel(x.shape.slice(start, end + 1)), ...x.shape.slice(end + 1)];
  return reshape(x, dims);
}

// ---- concat / stack ------------------------------------------------------------------------

/**
 * Joins tensors along an existing axis; all other dims must match. Writes new contiguous
 * storage (float64 if any input is). Backward hands each input its slice of the gradient.
 *
 * @example concat([a, b], -1) // (B,T,C1) + (B,T,C2) -> (B,T,C1+C2)
 */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new QkvValueError('concat: needs at least one tensor');
  const first = tensors[0];
  const rank = first.ndim;
  if (rank === 0) throw new QkvShapeError('concat: cannot concatenate scalars (); use stack');
  const ax = normalizeAxis(axis, rank, 'concat');
  let total = 0;
  let dtype = first.dtype;
  for (const t of tensors) {
    const sameOtherDims = t.ndim === rank && t.shape.every((dim, i) => i === ax || dim === first.shape[i]);
    if (!sameOtherDims) {
      throw new QkvShapeError(
        `concat: cannot join ${tensors.map((s) => formatShape(s.shape)).join(', ')} along axis ${axis}: ` +
          `all dims but axis ${ax} must match`,
      );
    }
    total += t.shape[ax];
    if (t.dtype === 'float64') dtype = 'float64';
  }
  const dims = [...first.shape];
  dims[ax] = total;
  const out = allocate(dtype, numel(dims));
  const strides = contiguousStrides(dims);
  let start = 0;
  for (const t of tensors) {
    copyStrided(out, start * strides[ax], strides, t);
    start += t.shape[ax];
  }
  const result = new Tensor(out, dims);
  return attachGrad(result, 'concat', tensors, (grad, needs) => {
    const grads: (Tensor | null)[] = [];
    let from = 0;
    for (let i = 0; i < tensors.length; i++) {
      const size = tensors[i].shape[ax];
      grads.push(needs[i] ? castTo(narrow(grad, ax, from, size), tensors[i]) : null);
      from += size;
    }
    return grads;
  });
}

/** A gradient in the dtype of the input it belongs to (concat may have widened to float64). */
function castTo(grad: Tensor, like: Tensor): Tensor {
  return grad.dtype === like.dtype ? grad : grad.to(like.dtype);
}

/**
 * Joins same-shaped tensors along a new axis (in [-(rank+1), rank]).
 *
 * @example stack([a, b], 0) // two (3,4) -> (2,3,4)
 */
export function stack(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new QkvValueError('stack: needs at least one tensor');
  const shape = tensors[0].shape;
  for (const t of tensors) {
    if (!shapesEqual(t.shape, shape)) {
      throw new QkvShapeError(`stack: all shapes must be equal, got ${tensors.map((s) => formatShape(s.shape)).join(', ')}`);
    }
  }
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -(rank + 1) || axis > rank) {
    throw new QkvValueError(`stack: axis ${axis} is out of range for inputs of shape ${formatShape(shape)} (allowed ${-(rank + 1)}..${rank})`);
  }
  return concat(tensors.map((t) => unsqueeze(t, axis)), axis < 0 ? axis + rank + 1 : axis);
}
