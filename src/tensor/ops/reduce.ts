/**
 * Reductions: sum, mean, variance, max (with argmax). Each forward is followed by its backward.
 *
 * All of them share one plan (`planReduction`): the output elements are the kept axes, the
 * reduced elements the reduced axes; for each output element, `outer[o]` is the storage offset
 * of its first reduced element and `inner[j]` the offset of the j-th reduced element relative to
 * it. The loops then read `data[outer[o] + inner[j]]`, any strided input included, with no
 * per-element closure; when the reduced elements sit at a constant stride (one reduced axis, or
 * the last axes of a contiguous tensor) the loop uses that stride directly, and stride 1 (the
 * last axis of a contiguous tensor, LayerNorm's and softmax's case) is a plain sequential loop.
 * Accumulation is in float64 (JS numbers) whatever the storage dtype.
 */
import { attachGrad } from '../autograd.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../errors.ts';
import { axisMoments, axisSums, columnSums, rowMax, rowSums } from '../../kernels/index.ts';
import { allocate, Tensor, type Storage } from '../tensor.ts';
import { contiguousStrides, normalizeAxis, numel, type Shape } from '../shape.ts';
import { readDense, stridedOffsets } from './strided.ts';

interface ReductionPlan {
  /** reduced[axis]: whether the axis is reduced. */
  readonly reduced: readonly boolean[];
  /** Output shape without the reduced axes. */
  readonly outShape: number[];
  /** Output shape with the reduced axes kept as size 1. */
  readonly keepShape: number[];
  /** Number of elements reduced into each output element. */
  readonly count: number;
  /** Storage offset (input offset included) of the first reduced element of each output element. */
  readonly outer: Int32Array;
  /** Offset of each reduced element relative to `outer[o]` (built on first use: loops with a constant stride skip it). */
  readonly inner: Int32Array;
  /** The constant stride between reduced elements, or null when there is none. */
  readonly innerStride: number | null;
}

/** Normalises `axis` (undefined = all axes; a number; a list, [] = none) to a per-axis flag. */
function reducedAxes(op: string, shape: Shape, axis: number | readonly number[] | undefined): boolean[] {
  const rank = shape.length;
  if (axis === undefined) return new Array<boolean>(rank).fill(true);
  const list = typeof axis === 'number' ? [axis] : axis;
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of list) {
    const ax = normalizeAxis(a, rank, op);
    if (rank === 0) continue; // a scalar's axis 0 / -1 reduces nothing, as in PyTorch
    if (reduced[ax]) throw new QkvValueError(`${op}: axis ${a} appears twice in [${list.join(',')}] (shape ${formatShape(shape)})`);
    reduced[ax] = true;
  }
  return reduced;
}

function planReduction(shape: Shape, strides: readonly number[], offset: number, reduced: readonly boolean[]): ReductionPlan {
  const outShape: number[] = [];
  const keepShape: number[] = [];
  const outerStrides: number[] = [];
  const innerDims: number[] = [];
  const innerStrides: number[] = [];
  for (let axis = 0; axis < shape.length; axis++) {
    if (reduced[axis]) {
      keepShape.push(1);
      innerDims.push(shape[axis]);
      innerStrides.push(strides[axis]);
    } else {
      outShape.push(shape[axis]);
      keepShape.push(shape[axis]);
      outerStrides.push(strides[axis]);
    }
  }
  let inner: Int32Array | null = null;
  return {
    reduced,
    outShape,
    keepShape,
    count: numel(innerDims),
    outer: stridedOffsets(outShape, outerStrides, offset),
    get inner() {
      inner ??= stridedOffsets(innerDims, innerStrides);
      return inner;
    },
    innerStride: constantStride(innerDims, innerStrides),
  };
}

/** The stride of dims that merge into one evenly spaced run, or null. */
function constantStride(dims: readonly number[], strides: readonly number[]): number | null {
  let stride: number | null = null;
  let span = 0; // the stride one step past the run so far
  for (let i = dims.length - 1; i >= 0; i--) {
    if (dims[i] === 1) continue;
    if (stride === null) {
      stride = strides[i];
    } else if (strides[i] !== span) {
      return null;
    }
    span = strides[i] * dims[i];
  }
  return stride ?? 1;
}

function planFor(op: string, x: Tensor, axis: number | readonly number[] | undefined): ReductionPlan {
  return planReduction(x.shape, x.strides, x.offset, reducedAxes(op, x.shape, axis));
}

/** The same reduction laid over a contiguous tensor of `shape` (where backward writes input gradients). */
function contiguousPlan(plan: ReductionPlan, shape: Shape): ReductionPlan {
  return planReduction(shape, contiguousStrides(shape), 0, plan.reduced);
}

/**
 * A gradient of the reduced shape (kept or not) broadcast back over the input shape, times
 * `scale`, as a new contiguous tensor.
 */
function broadcastBack(grad: Tensor, plan: ReductionPlan, shape: Shape, scale: number): Tensor {
  const g = readDense(grad);
  const out = allocate(grad.dtype, numel(shape));
  const target = contiguousPlan(plan, shape);
  const { outer, count, innerStride } = target;
  const inner = innerStride === null ? target.inner : null;
  for (let o = 0; o < g.length; o++) {
    const value = g[o] * scale;
    const base = outer[o];
    if (innerStride === 1) {
      out.fill(value, base, base + count);
    } else if (inner === null) {
      for (let j = 0; j < count; j++) out[base + j * innerStride!] = value;
    } else {
      for (let j = 0; j < count; j++) out[base + inner[j]] = value;
    }
  }
  return new Tensor(out, shape);
}

// ---- sum / mean ----------------------------------------------------------------------------

/** Σ over each output element's reduced elements, times `scale`, into a new storage of x's dtype. */
function sumKernel(x: Tensor, plan: ReductionPlan, scale: number): Storage {
  const data = x.data;
  const size = plan.outer.length;
  const out = allocate(x.dtype, size);
  const { outer, count, innerStride } = plan;
  if (innerStride === 1 && x.isContiguous()) {
    // The last axes of a contiguous tensor (a row of C per output element, at offset + o·C): on
    // the kernels (src/kernels/reference/reduce.ts is the loop; native for large float32).
    rowSums(out, data, x.offset, size, count, scale);
  } else if (innerStride === 1) {
    for (let o = 0; o < size; o++) {
      const base = outer[o];
      let total = 0;
      for (let j = 0; j < count; j++) total += data[base + j];
      out[o] = total * scale;
    }
  } else if (x.isContiguous() && isLeadingPrefix(plan.reduced)) {
    // Reducing the leading axes (a bias gradient over (B*T, C)): whole rows added in cache order,
    // on the kernels (src/kernels/reference/reduce.ts is the loop; native for large float32).
    columnSums(out, data, x.offset, count, size, scale);
  } else if (x.isContiguous() && consecutiveBlock(x.shape, plan.reduced) !== null) {
    // One run of consecutive axes of a contiguous tensor (dim 1 of (B, C, L)): an (outer, C,
    // inner) block summed over C, on the kernels (reference/reduce.ts axisSums is the loop).
    const { outer: blocks, inner: width } = consecutiveBlock(x.shape, plan.reduced)!;
    axisSums(out, data, x.offset, blocks, count, width, scale);
  } else if (innerStride !== null) {
    for (let o = 0; o < size; o++) {
      const base = outer[o];
      let total = 0;
      for (let j = 0; j < count; j++) total += data[base + j * innerStride];
      out[o] = total * scale;
    }
  } else {
    const inner = plan.inner;
    for (let o = 0; o < size; o++) {
      const base = outer[o];
      let total = 0;
      for (let j = 0; j < count; j++) total += data[base + inner[j]];
      out[o] = total * scale;
    }
  }
  return out;
}

/** (outer, inner) around the reduced axes when they are one consecutive run, else null. */
function consecutiveBlock(shape: Shape, reduced: readonly boolean[]): { outer: number; inner: number } | null {
  const first = reduced.indexOf(true);
  const last = reduced.lastIndexOf(true);
  if (first < 0) return null;
  for (let axis = first; axis <= last; axis++) if (!reduced[axis]) return null;
  let outer = 1;
  let inner = 1;
  for (let axis = 0; axis < first; axis++) outer *= shape[axis];
  for (let axis = last + 1; axis < shape.length; axis++) inner *= shape[axis];
  return { outer, inner };
}

function isLeadingPrefix(reduced: readonly boolean[]): boolean {
  let seenKept = false;
  for (const r of reduced) {
    if (!r) seenKept = true;
    else if (seenKept) return false;
  }
  return true;
}

/**
 * Sum over `axis`: undefined = all axes (a scalar), a number, or a list; negative axes count
 * from the end; `keepdim` keeps reduced axes as size 1. Backward broadcasts the gradient back.
 *
 * @example Tensor.from([[1, 2], [3, 4]]).sum(-1) // [3, 7]
 */
export function sum(x: Tensor, axis?: number | number[], keepdim = false): Tensor {
  return scaledSum('sum', x, axis, keepdim, () => 1);
}

/** Mean over `axis` (same axis rules as `sum`). */
export function mean(x: Tensor, axis?: number | number[], keepdim = false): Tensor {
  return scaledSum('mean', x, axis, keepdim, (count) => 1 / count);
}

function scaledSum(op: string, x: Tensor, axis: number | number[] | undefined, keepdim: boolean, scaleOf: (count: number) => number): Tensor {
  const plan = planFor(op, x, axis);
  const scale = scaleOf(plan.count);
  const out = new Tensor(sumKernel(x, plan, scale), keepdim ? plan.keepShape : plan.outShape);
  return attachGrad(out, op, [x], (grad) => [broadcastBack(grad, plan, x.shape, scale)]);
}

/**
 * Sums `grad` down to `shape`, the reverse of broadcasting `shape` up to grad's shape: leading
 * axes that broadcasting added and axes stretched from 1 are summed over. Same result as
 * `sumToShape` in ./broadcast.ts, through the reduction loops above (several times faster on
 * the bias-gradient case (B·T, C) → (C)). Not recorded in the graph: it is meant for backward.
 */
export function reduceToShape(grad: Tensor, shape: Shape): Tensor {
  const shift = grad.ndim - shape.length;
  let same = shift === 0;
  const reduced = grad.shape.map((dim, axis) => {
    const isReduced = axis < shift || (shape[axis - shift] === 1 && dim !== 1);
    if (!isReduced && dim !== shape[axis - shift]) {
      throw new QkvShapeError(`reduceToShape: ${formatShape(shape)} does not broadcast to the gradient's ${formatShape(grad.shape)}`);
    }
    if (isReduced) same = false;
    return isReduced;
  });
  if (same) return grad;
  const plan = planReduction(grad.shape, grad.strides, grad.offset, reduced);
  return new Tensor(sumKernel(grad, plan, 1), shape);
}

// ---- variance ------------------------------------------------------------------------------

/**
 * Variance over `axis` (same axis rules as `sum`): population (÷n) by default, as LayerNorm
 * uses; `unbiased: true` divides by n−1 (NaN for n = 1, as in PyTorch).
 * Two passes per output element (mean, then squared deviations), which stays accurate when the
 * mean is large compared with the spread, unlike E[x²] − E[x]².
 * Backward: ∂var/∂x_j = 2(x_j − mean)/d; the mean's own dependence on x drops out because the
 * deviations sum to zero.
 */
export function variance(x: Tensor, axis?: number | number[], options: { keepdim?: boolean; unbiased?: boolean } = {}): Tensor {
  const plan = planFor('variance', x, axis);
  const { outer, count, innerStride } = plan;
  // Reduced elements lie at base + j·step, or at base + inner[j] when there is no constant stride.
  const step = innerStride ?? 0;
  const inner = innerStride === null ? plan.inner : null;
  const divisor = options.unbiased ? count - 1 : count;
  const size = outer.length;
  const data = x.data;
  const means = new Float64Array(size);
  const out = allocate(x.dtype, size);
  const block = x.isContiguous() ? consecutiveBlock(x.shape, plan.reduced) : null;
  if (block !== null) {
    // One run of consecutive axes of a contiguous tensor: both passes on the kernels.
    const squares = new Float64Array(size);
    axisMoments(means, squares, data, x.offset, block.outer, count, block.inner);
    for (let o = 0; o < size; o++) out[o] = squares[o] / divisor;
  } else {
    for (let o = 0; o < size; o++) {
      const base = outer[o];
      let total = 0;
      for (let j = 0; j < count; j++) total += data[inner === null ? base + j * step : base + inner[j]];
      const m = total / count;
      let squares = 0;
      for (let j = 0; j < count; j++) {
        const d = data[inner === null ? base + j * step : base + inner[j]] - m;
        squares += d * d;
      }
      means[o] = m;
      out[o] = squares / divisor;
    }
  }
  const result = new Tensor(out, options.keepdim ? plan.keepShape : plan.outShape);
  return attachGrad(result, 'variance', [x], (grad) => {
    const g = readDense(grad);
    const target = contiguousPlan(plan, x.shape);
    const targetStep = target.innerStride ?? 0;
    const targetInner = target.innerStride === null ? target.inner : null;
    const gradX = allocate(grad.dtype, x.size);
    for (let o = 0; o < size; o++) {
      const factor = (2 * g[o]) / divisor;
      const m = means[o];
      const source = outer[o];
      const destination = target.outer[o];
      for (let j = 0; j < count; j++) {
        const value = data[inner === null ? source + j * step : source + inner[j]];
        gradX[targetInner === null ? destination + j * targetStep : destination + targetInner[j]] = factor * (value - m);
      }
    }
    return [new Tensor(gradX, x.shape)];
  });
}

// ---- max -----------------------------------------------------------------------------------

/**
 * Maximum along one axis, with the index where it is found (the first on ties; NaN wins, as in
 * PyTorch). `indices` hold integer values in a tensor of x's dtype and carry no gradient.
 * Backward sends each output gradient to its argmax element only.
 *
 * @example const { values, indices } = logits.max(-1); // greedy decoding
 */
export function max(x: Tensor, axis: number, keepdim = false): { values: Tensor; indices: Tensor } {
  const plan = planFor('max', x, axis);
  const { outer, count } = plan;
  // One reduced axis, so its elements always lie at a constant stride.
  const step = plan.innerStride!;
  if (count === 0) throw new QkvValueError(`max: axis ${axis} of shape ${formatShape(x.shape)} is empty`);
  const size = outer.length;
  const data = x.data;
  const values = allocate(x.dtype, size);
  const indices = allocate(x.dtype, size);
  if (step === 1 && x.isContiguous()) {
    rowMax(values, indices, data, x.offset, size, count); // the last axis: on the kernels
  } else {
    for (let o = 0; o < size; o++) {
      const base = outer[o];
      let best = data[base];
      let bestIndex = 0;
      if (best === best) {
        for (let j = 1; j < count; j++) {
          const v = data[base + j * step];
          if (v > best || v !== v) {
            best = v;
            bestIndex = j;
            if (v !== v) break;
          }
        }
      }
      values[o] = best;
      indices[o] = bestIndex;
    }
  }
  const shape = keepdim ? plan.keepShape : plan.outShape;
  const valuesTensor = new Tensor(values, shape);
  attachGrad(valuesTensor, 'max', [x], (grad) => {
    const g = readDense(grad);
    const target = contiguousPlan(plan, x.shape);
    const gradX = allocate(grad.dtype, x.size);
    const targetStep = target.innerStride!;
    for (let o = 0; o < size; o++) gradX[target.outer[o] + indices[o] * targetStep] += g[o];
    return [new Tensor(gradX, x.shape)];
  });
  return { values: valuesTensor, indices: new Tensor(indices, shape) };
}
