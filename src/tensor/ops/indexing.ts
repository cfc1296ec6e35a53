/**
 * Gathers and selection: indexSelect, embedding, where, maskedFill. Each forward is followed by
 * its backward. Gathers scatter-add their gradient (a row picked twice gets both gradients);
 * selections route each gradient element to the side that was picked, and nothing to a filled
 * position.
 *
 * Legend: V = vocabulary size, C = channels.
 */
import { attachGrad } from '../autograd.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../errors.ts';
import { embeddingScatterAdd } from '../../kernels/index.ts';
import { allocate, Tensor, type DType, type IndexLike, type Storage } from '../tensor.ts';
import { broadcastShapes, broadcastStrides, contiguousStrides, normalizeAxis, numel, shapesEqual, type Shape } from '../shape.ts';
import { reduceToShape } from './reduce.ts';
import { readDense, stridedOffsets } from './strided.ts';

interface Indices {
  readonly values: Int32Array;
  readonly shape: number[];
}

/**
 * Reads an IndexLike (a tensor of integer values, an Int32Array, or a number[]; flat arrays are
 * 1-D) and checks every index lies in [0, bound). `describe` phrases the range error.
 */
function readIndices(op: string, indices: IndexLike, bound: number, describe: (index: number) => string): Indices {
  // Always copied: backward must see the indices of the forward even if the caller reuses its array.
  const raw: ArrayLike<number> = indices instanceof Tensor ? indices.contiguousData() : indices;
  const values = new Int32Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const index = raw[i];
    if (!Number.isInteger(index)) throw new QkvValueError(`${op}: index ${index} at position ${i} is not an integer`);
    if (index < 0 || index >= bound) throw new QkvValueError(`${op}: ${describe(index)}`);
    values[i] = index;
  }
  return { values, shape: indices instanceof Tensor ? [...indices.shape] : [raw.length] };
}

/**
 * out[..., i..., ...] = x[..., ids[i...], ...] along `axis`; output shape is
 * x.shape[:axis] + ids.shape + x.shape[axis+1:]. Backward scatter-adds.
 */
function gather(op: string, x: Tensor, axis: number, ids: Indices): Tensor {
  const before = x.shape.slice(0, axis);
  const after = x.shape.slice(axis + 1);
  const outShape = [...before, ...ids.shape, ...after];
  const outerOffsets = stridedOffsets(before, x.strides.slice(0, axis), x.offset);
  const innerOffsets = stridedOffsets(after, x.strides.slice(axis + 1));
  const innerSize = innerOffsets.length;
  const innerContiguous = after.length === 0 || isRowMajor(after, x.strides.slice(axis + 1));
  const axisStride = x.strides[axis];
  const picks = ids.values;
  const data = x.data;
  const out = allocate(x.dtype, numel(outShape));
  let position = 0;
  for (let o = 0; o < outerOffsets.length; o++) {
    for (let k = 0; k < picks.length; k++) {
      const source = outerOffsets[o] + picks[k] * axisStride;
      if (innerContiguous) {
        out.set(data.subarray(source, source + innerSize), position);
      } else {
        for (let j = 0; j < innerSize; j++) out[position + j] = data[source + innerOffsets[j]];
      }
      position += innerSize;
    }
  }
  const result = new Tensor(out, outShape);
  return attachGrad(result, op, [x], (grad) => {
    const gradX = allocate(grad.dtype, x.size);
    scatterAdd(gradX, readDense(grad), outerOffsets.length, x.shape[axis], picks, innerSize);
    return [new Tensor(gradX, x.shape)];
  });
}

/**
 * Gather's backward: the gradient rows `g` (outerCount × picks × innerSize, row-major) added
 * into a contiguous gradient of shape (outerCount, axisSize, innerSize) at the picked rows, so
 * repeated ids accumulate. A module-level function, not a loop inside the backward closure: it
 * runs twice a training step, too rarely for V8 to optimise a fresh closure's loop in time.
 */
function scatterAdd(gradX: Storage, g: Storage, outerCount: number, axisSize: number, picks: Int32Array, innerSize: number): void {
  // Rows of a (V, C) table, as `embedding` picks them: on the kernel backend (float32 native/wasm).
  if (outerCount === 1) return embeddingScatterAdd(gradX, g, picks, innerSize);
  let from = 0;
  for (let o = 0; o < outerCount; o++) {
    const rowBase = o * axisSize * innerSize;
    for (let k = 0; k < picks.length; k++) {
      const to = rowBase + picks[k] * innerSize;
      for (let j = 0; j < innerSize; j++) gradX[to + j] += g[from + j];
      from += innerSize;
    }
  }
}

function isRowMajor(dims: Shape, strides: readonly number[]): boolean {
  const expected = contiguousStrides(dims);
  return dims.every((dim, i) => dim === 1 || strides[i] === expected[i]);
}

/**
 * Picks entries along `axis` by index (repeats allowed): `x.indexSelect(0, [2, 0])` takes rows 2
 * and 0. A 1-D index replaces the axis by its length; an index tensor of any shape replaces the
 * axis by its shape. Indices must lie in [0, size). Backward scatter-adds, so a repeated index
 * collects every gradient that used it.
 */
export function indexSelect(x: Tensor, axis: number, indices: IndexLike): Tensor {
  if (x.ndim === 0) throw new QkvShapeError('indexSelect: a scalar () has no axis to index');
  const ax = normalizeAxis(axis, x.ndim, 'indexSelect');
  const size = x.shape[ax];
  const ids = readIndices('indexSelect', indices, size, (index) => `index ${index} is out of range for axis ${axis} of size ${size} in shape ${formatShape(x.shape)}`);
  return gather('indexSelect', x, ax, ids);
}

/**
 * Token embedding lookup: rows of `weight` (V, C) picked by `ids` of any shape; output
 * ids.shape + [C]. Backward scatter-adds into the (V, C) gradient, so a token that appears
 * several times in the batch collects all its gradients.
 *
 * @example embedding(wte, Tensor.from([[15496, 11], [995, 0]])) // (2,2) ids -> (2,2,C)
 */
export function embedding(weight: Tensor, ids: IndexLike): Tensor {
  if (weight.ndim !== 2) {
    throw new QkvShapeError(`embedding: weight must be (V, C), got ${formatShape(weight.shape)}`);
  }
  const [vocabSize] = weight.shape;
  const read = readIndices('embedding', ids, vocabSize, (id) => `id ${id} is out of range for a vocabulary of V=${vocabSize} (weight ${formatShape(weight.shape)})`);
  return gather('embedding', weight, 0, read);
}

// ---- where / maskedFill --------------------------------------------------------------------

/**
 * Whether `fromShape`, leading 1s aside, is the trailing part of `toShape`: a (T,T) mask under
 * (B,NH,T,T) scores, a (C) bias under (B,T,C). Broadcasting it is then a tiling.
 */
function isTrailingBlock(fromShape: Shape, toShape: Shape): boolean {
  let leadingOnes = 0;
  while (leadingOnes < fromShape.length && fromShape[leadingOnes] === 1) leadingOnes++;
  const core = fromShape.slice(leadingOnes);
  return core.length <= toShape.length && shapesEqual(core, toShape.slice(toShape.length - core.length));
}

/**
 * `values` (row-major, of `fromShape`) broadcast to `toShape`, row-major: a tiling when
 * `fromShape` is a trailing block of `toShape`, otherwise each element read through broadcast
 * strides.
 */
function broadcastValues<A extends Storage | Uint8Array>(values: A, fromShape: Shape, toShape: Shape, like: (size: number) => A): A {
  const size = numel(toShape);
  if (values.length === size) return values;
  const out = like(size);
  if (size === 0) return out;
  const block = values.length;
  if (isTrailingBlock(fromShape, toShape)) {
    for (let start = 0; start < size; start += block) out.set(values, start);
  } else {
    const offsets = stridedOffsets(toShape, broadcastStrides(fromShape, contiguousStrides(fromShape), toShape));
    for (let i = 0; i < size; i++) out[i] = values[offsets[i]];
  }
  return out;
}

/** 1 where the condition is nonzero (NaN counts as nonzero, as `!= 0` does), under `shape`. */
function nonzeroMask(condition: Tensor, shape: Shape): Uint8Array {
  return broadcastValues(nonzeroOf(condition), condition.shape, shape, (size) => new Uint8Array(size));
}

/** 1 where `t` is nonzero, row-major, in t's own shape. */
function nonzeroOf(t: Tensor): Uint8Array {
  const values = readDense(t);
  const mask = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) mask[i] = values[i] !== 0 ? 1 : 0;
  return mask;
}

/**
 * Where `mask` (broadcastable to `shape`) is nonzero, as [begin, end) runs of row-major
 * positions within a block that repeats over the whole of `shape`. A (T,T) causal mask under
 * (B,NH,T,T) scores is one T·T block of T−1 runs, applied B·NH times, never copied out to the
 * full size; other masks are broadcast to the full size first (one block).
 */
interface MaskRuns {
  readonly blockSize: number;
  /** begin₀, end₀, begin₁, end₁, … */
  readonly runs: Int32Array;
}

function maskRuns(mask: Tensor, shape: Shape): MaskRuns {
  const nonzero = nonzeroOf(mask);
  const block = isTrailingBlock(mask.shape, shape) ? nonzero : broadcastValues(nonzero, mask.shape, shape, (size) => new Uint8Array(size));
  const bounds: number[] = [];
  for (let i = 0; i < block.length; i++) {
    if (block[i] !== 0 && (i === 0 || block[i - 1] === 0)) bounds.push(i);
    if (block[i] !== 0 && (i === block.length - 1 || block[i + 1] === 0)) bounds.push(i + 1);
  }
  return { blockSize: block.length, runs: Int32Array.from(bounds) };
}

/** Sets `value` at every masked position of `out` (contiguous, of the mask's broadcast shape). */
function fillRuns(out: Storage, { blockSize, runs }: MaskRuns, value: number): void {
  if (blockSize === 0) return;
  for (let start = 0; start < out.length; start += blockSize) {
    for (let r = 0; r < runs.length; r += 2) {
      const end = start + runs[r + 1];
      for (let i = start + runs[r]; i < end; i++) out[i] = value;
    }
  }
}

/** Values of `t` under broadcast `shape`, row-major (no copy when `t` is already that). */
function broadcastData(t: Tensor, shape: Shape): Storage {
  const values = readDense(t);
  return broadcastValues(values, t.shape, shape, (size) => allocate(t.dtype, size));
}

function asTensor(value: Tensor | number, dtype: DType): Tensor {
  return typeof value === 'number' ? Tensor.scalar(value, { dtype }) : value;
}

/**
 * Elementwise choice with broadcasting: `a` where `condition` is nonzero, else `b`. `a` and `b`
 * may be numbers. Gradients go to the side that was picked; the condition gets none.
 *
 * @example where(mask, scores, -Infinity)
 */
export function where(condition: Tensor, aValue: Tensor | number, bValue: Tensor | number): Tensor {
  const dtype: DType = [aValue, bValue].some((v) => v instanceof Tensor && v.dtype === 'float64') ? 'float64' : 'float32';
  const a = asTensor(aValue, dtype);
  const b = asTensor(bValue, dtype);
  const shape = broadcastShapes('where', condition.shape, a.shape, b.shape);
  const mask = nonzeroMask(condition, shape);
  const valuesA = broadcastData(a, shape);
  const valuesB = broadcastData(b, shape);
  const out = allocate(dtype, mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] ? valuesA[i] : valuesB[i];
  const result = new Tensor(out, shape);
  return attachGrad(result, 'where', [a, b], (grad, needs) => {
    const g = grad.contiguousData();
    const pick = (side: 1 | 0, like: Tensor): Tensor => {
      const routed = allocate(like.dtype, g.length);
      for (let i = 0; i < g.length; i++) if (mask[i] === side) routed[i] = g[i];
      return reduceToShape(new Tensor(routed, shape), like.shape);
    };
    return [needs[0] ? pick(1, a) : null, needs[1] ? pick(0, b) : null];
  });
}

/**
 * A copy of `x` with `value` wherever `mask` (broadcastable to x's shape) is nonzero. `value`
 * may be -Infinity: attention masks use −∞, not a large negative number, so masked weights are
 * exactly 0 after softmax. Filled positions get no gradient.
 *
 * @example scores.maskedFill(causalMask, -Infinity) // (B,nh,T,T) with a (T,T) mask
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  const shape = broadcastShapes('maskedFill', x.shape, mask.shape);
  if (!shapesEqual(shape, x.shape)) {
    throw new QkvShapeError(`maskedFill: mask ${formatShape(mask.shape)} does not broadcast to the input ${formatShape(x.shape)}`);
  }
  const filled = maskRuns(mask, x.shape);
  const out = x.contiguousData();
  fillRuns(out, filled, value);
  const result = new Tensor(out, x.shape);
  return attachGrad(result, 'maskedFill', [x], (grad) => {
    const gradX = grad.contiguousData();
    fillRuns(gradX, filled, 0);
    return [new Tensor(gradX, x.shape)];
  });
}
