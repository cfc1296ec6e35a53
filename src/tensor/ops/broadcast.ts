/**
 * The loops every elementwise op shares: read one or two strided tensors under a broadcast
 * output shape, and reduce a broadcast gradient back to an input's shape.
 *
 * Two ways in. `arithmetic` runs add/sub/mul/div with no per-element closure: the axes are
 * coalesced (`coalesceAxes`), so the common layouts become long rows (a dense same-shape pair
 * is one row, a bias (…, C) + (C) is rows of C against a fixed row, a scalar operand has
 * stride 0), and the rows run on the kernels' `elementwise` (native for large float32 work,
 * the loops of src/kernels/reference/elementwise.ts otherwise). `mapUnary` / `mapBinary` take a
 * closure and read any layout through an odometer: the general path (pow, masks) and the
 * oracle the fast loops are tested against.
 */
import { allocate, allocateOverwritten, Tensor, type DType, type Storage } from '../tensor.ts';
import { broadcastShapes, broadcastStrides, contiguousStrides, numel, shapesEqual, type Shape } from '../shape.ts';
import { coalesceAxes } from './strided.ts';
import { elementwise } from '../../kernels/index.ts';

export function resultDtype(a: Tensor, b?: Tensor): DType {
  return a.dtype === 'float64' || b?.dtype === 'float64' ? 'float64' : 'float32';
}

/** True when `t` occupies its storage densely in row-major order (fast paths index data directly). */
function isDense(t: Tensor): boolean {
  return t.isContiguous();
}

/** The broadcast shape of a and b (a's own shape, copied, when they agree). */
function outputShape(op: string, a: Tensor, b: Tensor): number[] {
  return shapesEqual(a.shape, b.shape) ? [...a.shape] : broadcastShapes(op, a.shape, b.shape);
}

// ---- add / sub / mul / div without closures ------------------------------------------------

/** The binary ops with closure-free loops. */
export type ArithmeticOp = 'add' | 'sub' | 'mul' | 'div';

/**
 * out = a ∘ b with NumPy broadcasting, ∘ one of + − × ÷; contiguous output of the broadcast
 * shape. Same values, bit for bit, as `mapBinary` with the matching closure: each element is
 * one JS operation on the two stored values, rounded once into the output.
 */
export function arithmetic(op: ArithmeticOp, a: Tensor, b: Tensor): Tensor {
  const shape = outputShape(op, a, b);
  const size = numel(shape);
  const out = allocateOverwritten(resultDtype(a, b), size); // every element is written below
  if (size === 0) return new Tensor(out, shape);
  const layout = coalesceAxes(shape, broadcastStrides(a.shape, a.strides, shape), broadcastStrides(b.shape, b.strides, shape));
  // The output is contiguous, so its strides over the coalesced shape are too.
  elementwise(op, out, a.data, b.data, {
    shape: layout.shape, outOffset: 0, outStrides: contiguousStrides(layout.shape),
    aOffset: a.offset, aStrides: layout.stridesA, bOffset: b.offset, bStrides: layout.stridesB,
  }, size);
  return new Tensor(out, shape);
}

// ---- the general path: any function, any layout -------------------------------------------

/**
 * Visits every element of `shape` in row-major order, calling `visit(outIndex, offsetA, offsetB)`
 * with the storage offsets of the two operands under the given strides.
 */
function forEachStrided(
  shape: Shape,
  stridesA: readonly number[],
  offsetA: number,
  stridesB: readonly number[],
  offsetB: number,
  visit: (outIndex: number, a: number, b: number) => void,
): void {
  const rank = shape.length;
  const size = numel(shape);
  if (size === 0) return;
  if (rank === 0) {
    visit(0, offsetA, offsetB);
    return;
  }
  const index = new Array<number>(rank).fill(0);
  const innerSize = shape[rank - 1];
  const innerA = stridesA[rank - 1];
  const innerB = stridesB[rank - 1];
  let a = offsetA;
  let b = offsetB;
  for (let outIndex = 0; outIndex < size; outIndex += innerSize) {
    for (let i = 0; i < innerSize; i++) visit(outIndex + i, a + i * innerA, b + i * innerB);
    // advance the outer (all but last) axes like an odometer
    for (let axis = rank - 2; axis >= 0; axis--) {
      index[axis]++;
      a += stridesA[axis];
      b += stridesB[axis];
      if (index[axis] < shape[axis]) break;
      a -= stridesA[axis] * shape[axis];
      b -= stridesB[axis] * shape[axis];
      index[axis] = 0;
    }
  }
}

/** out[i] = f(a[i]) over any strided `a`; contiguous output of a's shape. */
export function mapUnary(a: Tensor, f: (x: number) => number, dtype: DType = a.dtype): Tensor {
  const out = allocate(dtype, a.size);
  if (isDense(a)) {
    const data = a.data;
    const base = a.offset;
    for (let i = 0; i < out.length; i++) out[i] = f(data[base + i]);
  } else {
    const data = a.data;
    forEachStrided(a.shape, a.strides, a.offset, a.strides, a.offset, (i, offset) => {
      out[i] = f(data[offset]);
    });
  }
  return new Tensor(out, a.shape);
}

/**
 * out = f(a, b) with NumPy broadcasting; contiguous output of the broadcast shape. For
 * add/sub/mul/div use `arithmetic`, which gives the same values without a call per element.
 */
export function mapBinary(op: string, a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const shape = outputShape(op, a, b);
  const out = allocate(resultDtype(a, b), numel(shape));
  const dataA = a.data;
  const dataB = b.data;
  const stridesA = broadcastStrides(a.shape, a.strides, shape);
  const stridesB = broadcastStrides(b.shape, b.strides, shape);
  forEachStrided(shape, stridesA, a.offset, stridesB, b.offset, (i, offsetA, offsetB) => {
    out[i] = f(dataA[offsetA], dataB[offsetB]);
  });
  return new Tensor(out, shape);
}

/**
 * Sums a gradient of the broadcast shape back down to `shape` (the reverse of broadcasting):
 * every axis that was stretched from 1, or added on the left, is summed over. The element-by-
 * element reference for `reduceToShape` (./reduce.ts), which backward passes use: this one
 * accumulates in the storage dtype, so float32 sums can differ from it in the last bits.
 */
export function sumToShape(grad: Tensor, shape: Shape): Tensor {
  if (shapesEqual(grad.shape, shape)) return grad;
  const out: Storage = allocate(grad.dtype, numel(shape));
  const targetStrides = broadcastStrides(shape, contiguousStrides(shape), grad.shape);
  const data = grad.data;
  forEachStrided(grad.shape, grad.strides, grad.offset, targetStrides, 0, (_i, source, target) => {
    out[target] += data[source];
  });
  return new Tensor(out, shape);
}

/**
 * target += source in place, same shape (source any layout, target dense over its whole
 * storage): the same bits as `arithmetic('add', target, source)` without a new array. Backward
 * uses it to sum gradients into a buffer only it holds.
 */
export function addInto(target: Tensor, source: Tensor): void {
  const size = target.size;
  if (size === 0) return;
  const layout = coalesceAxes(target.shape, target.strides, source.strides);
  elementwise('add', target.data, target.data, source.data, {
    shape: layout.shape, outOffset: target.offset, outStrides: layout.stridesA,
    aOffset: target.offset, aStrides: layout.stridesA, bOffset: source.offset, bStrides: layout.stridesB,
  }, size);
}
