/**
 * Matrix multiplication with torch.matmul semantics, on top of a raw-array `MatmulKernel`.
 *
 * The tensor side only describes operands: each becomes a stack of matrices (batch dims with
 * strides, 0 where broadcast) stored either row-major or transposed. A transposed view such as
 * `w.transpose(0, 1)` of a Linear weight is handed to the kernel with `transA`/`transB` instead
 * of being copied; any other layout is copied once to contiguous. Backward is two more kernel
 * calls with the trans flags flipped — dA = dC·Bᵀ, dB = Aᵀ·dC — accumulating over broadcast
 * batch dims, never materialising a transpose.
 */
import { attachGrad } from '../autograd.ts';
import { QkvShapeError, formatShape } from '../errors.ts';
import { allocate, allocateOverwritten, Tensor, type Storage } from '../tensor.ts';
import { broadcastShapes, broadcastStrides, contiguousStrides, numel } from '../shape.ts';
import { resultDtype } from './broadcast.ts';
import { matmul as dispatchMatmul } from '../../kernels/index.ts';
import type { MatmulKernel } from '../../kernels/types.ts';

// The kernels' dispatcher: WebAssembly SIMD across threads for float32, the TypeScript
// reference for float64 (gradient checks) or when `QKV_KERNELS=reference`.
let activeKernel: MatmulKernel = dispatchMatmul;

/**
 * Overrides the kernel every `matmul` uses from now on (tests spy on calls this way); `null`
 * restores the default dispatcher.
 */
export function setMatmulKernel(kernel: MatmulKernel | null): void {
  activeKernel = kernel ?? dispatchMatmul;
}

/** The kernel `matmul` currently uses. */
export function getMatmulKernel(): MatmulKernel {
  return activeKernel;
}

/** A tensor seen as a stack of (rows × cols) matrices. */
interface MatrixStack {
  data: Storage;
  offset: number;
  batchShape: number[];
  batchStrides: number[];
  rows: number;
  cols: number;
  /** Stored as (cols, rows) row-major: a transposed view of a contiguous matrix. */
  trans: boolean;
}

/**
 * Reads `t` as matrices. A 1-D operand is promoted to a row (`promote = 'row'`, the left
 * operand) or a column (`'col'`, the right operand), as torch.matmul does.
 */
function asMatrixStack(t: Tensor, promote: 'row' | 'col'): MatrixStack {
  let shape = [...t.shape];
  let strides = [...t.strides];
  if (shape.length === 1) {
    if (promote === 'row') {
      shape = [1, shape[0]];
      strides = [shape[1] * strides[0], strides[0]];
    } else {
      shape = [shape[0], 1];
      strides = [strides[0], 1];
    }
  }
  const rank = shape.length;
  const rows = shape[rank - 2];
  const cols = shape[rank - 1];
  const rowStride = strides[rank - 2];
  const colStride = strides[rank - 1];
  // A dim of size 1 never moves, so its stride does not matter.
  const rowMajor = (cols <= 1 || colStride === 1) && (rows <= 1 || rowStride === cols);
  const columnMajor = (rows <= 1 || rowStride === 1) && (cols <= 1 || colStride === rows);
  if (rowMajor || columnMajor) {
    return {
      data: t.data,
      offset: t.offset,
      batchShape: shape.slice(0, -2),
      batchStrides: strides.slice(0, -2),
      rows,
      cols,
      trans: !rowMajor,
    };
  }
  // Rows not evenly spaced (e.g. a head split out of (B,T,NH,hs)): copy once to row-major.
  return {
    data: t.contiguousData(),
    offset: 0,
    batchShape: shape.slice(0, -2),
    batchStrides: contiguousStrides(shape).slice(0, -2),
    rows,
    cols,
    trans: false,
  };
}

/** One operand of a batched kernel run: where its matrices start and how to step between them. */
interface BatchedOperand {
  data: Storage;
  offset: number;
  /** One stride per batch dim of the run (0 where this operand is broadcast). */
  strides: readonly number[];
  trans: boolean;
}

/**
 * out[o] (+)= op(A[o]) · op(B[o]) for every index o of `batchShape`, with `outStrides` placing
 * each (m×n) result (0 on a dim sums that dim into one result; then `accumulate` must be set).
 * The innermost batch dims that A, B and out all step through evenly are merged into a single
 * kernel call; the rest are looped over here.
 */
function runBatched(
  kernel: MatmulKernel,
  batchShape: readonly number[],
  m: number,
  n: number,
  k: number,
  a: BatchedOperand,
  b: BatchedOperand,
  out: Storage,
  outStrides: readonly number[],
  accumulate: boolean,
): void {
  // Dims of size 1 are no-ops: drop them so they cannot stop a merge.
  const dims: number[] = [];
  const stridesA: number[] = [];
  const stridesB: number[] = [];
  const stridesOut: number[] = [];
  for (let axis = 0; axis < batchShape.length; axis++) {
    if (batchShape[axis] === 1) continue;
    dims.push(batchShape[axis]);
    stridesA.push(a.strides[axis]);
    stridesB.push(b.strides[axis]);
    stridesOut.push(outStrides[axis]);
  }
  const matrixSize = m * n;
  let merged = 0;
  let count = 1;
  let strideA = 0;
  let strideB = 0;
  for (let axis = dims.length - 1; axis >= 0; axis--) {
    if (merged === 0) {
      // The kernel writes consecutive results matrixSize apart.
      if (stridesOut[axis] !== matrixSize) break;
      strideA = stridesA[axis];
      strideB = stridesB[axis];
    } else if (stridesA[axis] !== strideA * count || stridesB[axis] !== strideB * count || stridesOut[axis] !== matrixSize * count) {
      break;
    }
    count *= dims[axis];
    merged++;
  }
  const outerRank = dims.length - merged;
  let outerCount = 1;
  for (let axis = 0; axis < outerRank; axis++) outerCount *= dims[axis];
  const index = new Array<number>(outerRank).fill(0);
  let offsetA = a.offset;
  let offsetB = b.offset;
  let offsetOut = 0;
  for (let call = 0; call < outerCount; call++) {
    kernel(a.data, b.data, offsetOut === 0 ? out : out.subarray(offsetOut), {
      batch: count,
      m,
      n,
      k,
      transA: a.trans,
      transB: b.trans,
      accumulate,
      strideA,
      strideB,
      offsetA,
      offsetB,
    });
    for (let axis = outerRank - 1; axis >= 0; axis--) {
      index[axis]++;
      offsetA += stridesA[axis];
      offsetB += stridesB[axis];
      offsetOut += stridesOut[axis];
      if (index[axis] < dims[axis]) break;
      offsetA -= stridesA[axis] * dims[axis];
      offsetB -= stridesB[axis] * dims[axis];
      offsetOut -= stridesOut[axis] * dims[axis];
      index[axis] = 0;
    }
  }
}

/** Strides placing results of `shape` (contiguous, `matrixSize` apart) under the broadcast `target`. */
function resultStrides(shape: readonly number[], matrixSize: number, target: readonly number[]): number[] {
  const strides = contiguousStrides(shape).map((stride) => stride * matrixSize);
  return broadcastStrides(shape, strides, target);
}

/**
 * True when several batch entries land on the same result (a stride 0 on a dim longer than 1):
 * the gradient of a broadcast operand, which the kernel must then add into (it starts at zero).
 */
function sumsOverBatch(strides: readonly number[], batchShape: readonly number[]): boolean {
  for (let axis = 0; axis < batchShape.length; axis++) if (strides[axis] === 0 && batchShape[axis] > 1) return true;
  return false;
}

/**
 * True when the batch dims of a row-major stack continue its row stride, so the whole stack
 * is one tall (batch·rows × cols) matrix — x of shape (B,T,C) times a weight (C,N).
 */
function foldsIntoRows(stack: MatrixStack): boolean {
  if (stack.trans) return false;
  let expected = stack.rows * stack.cols;
  for (let axis = stack.batchShape.length - 1; axis >= 0; axis--) {
    if (stack.batchShape[axis] === 1) continue;
    if (stack.batchStrides[axis] !== expected) return false;
    expected *= stack.batchShape[axis];
  }
  return true;
}

/**
 * Matrix product with torch.matmul semantics: 1-D·1-D is a dot product (shape `()`), 2-D·2-D a
 * matrix product, and higher ranks are stacks of matrices whose leading (batch) dims broadcast.
 * A 1-D left operand is treated as a row (1, K) and a 1-D right operand as a column (K, 1); the
 * promoted dim is removed from the result. float32 and float64 (the result is float64 if either is).
 *
 * @example
 * const scores = q.matmul(k.transpose(-2, -1)); // (B,NH,T,hs)·(B,NH,hs,T) → (B,NH,T,T)
 * const y = x.matmul(w);                         // (B,T,C)·(C,N) → (B,T,N)
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new QkvShapeError(`matmul: both operands need at least one dimension, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  let left = asMatrixStack(a, 'row');
  let right = asMatrixStack(b, 'col');
  if (left.cols !== right.rows) {
    throw new QkvShapeError(
      `matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}: inner dimensions ${left.cols} and ${right.rows} differ`,
    );
  }
  const batchShape = broadcastShapes('matmul', left.batchShape, right.batchShape);
  const outShape = [...batchShape];
  if (a.ndim > 1) outShape.push(left.rows);
  if (b.ndim > 1) outShape.push(right.cols);

  // One weight for the whole batch: multiply a single tall matrix instead of a stack.
  let runShape = batchShape;
  if (numel(right.batchShape) === 1 && left.batchShape.length > 0 && foldsIntoRows(left)) {
    left = { ...left, rows: numel(left.batchShape) * left.rows, batchShape: [], batchStrides: [] };
    right = { ...right, batchShape: [], batchStrides: [] };
    runShape = [];
  }
  const m = left.rows;
  const k = left.cols;
  const n = right.cols;
  const leftStrides = broadcastStrides(left.batchShape, left.batchStrides, runShape);
  const rightStrides = broadcastStrides(right.batchShape, right.batchStrides, runShape);
  const outStrides = resultStrides(runShape, m * n, runShape);

  const kernel = activeKernel;
  // The kernel writes every element of a non-accumulating product (K = 0 writes nothing: zeros).
  const out = k > 0 ? allocateOverwritten(resultDtype(a, b), numel(outShape)) : allocate(resultDtype(a, b), numel(outShape));
  runBatched(
    kernel,
    runShape,
    m,
    n,
    k,
    { data: left.data, offset: left.offset, strides: leftStrides, trans: left.trans },
    { data: right.data, offset: right.offset, strides: rightStrides, trans: right.trans },
    out,
    outStrides,
    false,
  );

  return attachGrad(new Tensor(out, outShape), 'matmul', [a, b], (grad, needs) => {
    // dC is (runShape…, M, N) contiguous: dropping the promoted 1-dims does not move elements.
    const gradData = grad.isContiguous() ? grad.data.subarray(grad.offset, grad.offset + grad.size) : grad.contiguousData();
    const gradOperand: BatchedOperand = { data: gradData, offset: 0, strides: outStrides, trans: false };
    let gradA: Tensor | null = null;
    let gradB: Tensor | null = null;
    if (needs[0]) {
      // dA (M×K) = dC (M×N) · op(B)ᵀ; summed over the batch dims where A was broadcast.
      const dAStrides = resultStrides(left.batchShape, m * k, runShape);
      const sumsA = sumsOverBatch(dAStrides, runShape);
      const dA = !sumsA && n > 0 ? allocateOverwritten(a.dtype, a.size) : allocate(a.dtype, a.size);
      runBatched(kernel, runShape, m, k, n, gradOperand, { data: right.data, offset: right.offset, strides: rightStrides, trans: !right.trans }, dA, dAStrides, sumsA);
      gradA = new Tensor(dA, a.shape);
    }
    if (needs[1]) {
      // dB (K×N) = op(A)ᵀ (K×M) · dC (M×N); summed over the batch dims where B was broadcast.
      const dBStrides = resultStrides(right.batchShape, k * n, runShape);
      const sumsB = sumsOverBatch(dBStrides, runShape);
      const dB = !sumsB && m > 0 ? allocateOverwritten(b.dtype, b.size) : allocate(b.dtype, b.size);
      runBatched(kernel, runShape, k, n, m, { data: left.data, offset: left.offset, strides: leftStrides, trans: !left.trans }, gradOperand, dB, dBStrides, sumsB);
      gradB = new Tensor(dB, b.shape);
    }
    return [gradA, gradB];
  });
}
