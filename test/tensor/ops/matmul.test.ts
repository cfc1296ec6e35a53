import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { attachGrad } from '../../../src/tensor/autograd.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { QkvShapeError } from '../../../src/tensor/errors.ts';
import { matmul, setMatmulKernel } from '../../../src/tensor/ops/matmul.ts';
import { matmulReference } from '../../../src/kernels/reference/matmul.ts';
import type { MatmulParams } from '../../../src/kernels/types.ts';

const rng = new Rng(3);
const f64 = (shape: number[]) => Tensor.rand(shape, { dtype: 'float64', rng, low: -1, high: 1, requiresGrad: true });

/**
 * A differentiable view with the last two axes swapped (shares storage), written here so the
 * test does not depend on the shape ops.
 */
function swapLastTwo(x: Tensor): Tensor {
  const rank = x.ndim;
  const swap = (values: readonly number[]) => [...values.slice(0, rank - 2), values[rank - 1], values[rank - 2]];
  const view = new Tensor(x.data, swap(x.shape), swap(x.strides), x.offset);
  return attachGrad(view, 'swapLastTwo', [x], (grad) => {
    const g = grad.contiguous();
    return [new Tensor(new Tensor(g.data, swap(g.shape), swap(g.strides), g.offset).contiguousData(), x.shape)];
  });
}

/** Matrix product by the definition, over nested arrays, for 2-D operands. */
function naive2d(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((sum, value, p) => sum + value * b[p][j], 0)));
}

function assertAllClose(actual: number[], expected: number[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: size`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= tolerance)) assert.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]} (|error| ${error.toExponential(2)})`);
  }
}

/** Records the parameters of every kernel call while `fn` runs. */
function spyKernel<T>(fn: () => T): { result: T; calls: { a: unknown; b: unknown; params: MatmulParams }[] } {
  const calls: { a: unknown; b: unknown; params: MatmulParams }[] = [];
  setMatmulKernel((a, b, out, params) => {
    calls.push({ a, b, params: { ...params } });
    matmulReference(a, b, out, params);
  });
  try {
    return { result: fn(), calls };
  } finally {
    setMatmulKernel(null);
  }
}

test('2×2 by hand', () => {
  const c = matmul(Tensor.from([[1, 2], [3, 4]]), Tensor.from([[5, 6], [7, 8]]));
  assert.deepEqual(c.shape, [2, 2]);
  assert.deepEqual(c.tolist(), [[19, 22], [43, 50]]);
  assert.equal(c.dtype, 'float32');
});

test('1-D operands: dot product, vector·matrix, matrix·vector', () => {
  const dot = matmul(Tensor.from([1, 2, 3]), Tensor.from([4, 5, 6]));
  assert.deepEqual(dot.shape, []);
  assert.equal(dot.item(), 32);
  const row = matmul(Tensor.from([1, 2]), Tensor.from([[1, 2, 3], [4, 5, 6]]));
  assert.deepEqual(row.shape, [3]);
  assert.deepEqual(row.toArray(), [9, 12, 15]);
  const column = matmul(Tensor.from([[1, 2, 3], [4, 5, 6]]), Tensor.from([1, 0, -1]));
  assert.deepEqual(column.shape, [2]);
  assert.deepEqual(column.toArray(), [-2, -2]);
  const batched = matmul(Tensor.from([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]), Tensor.from([1, 1]));
  assert.deepEqual(batched.shape, [2, 2]);
  assert.deepEqual(batched.tolist(), [[3, 7], [11, 15]]);
});

test('mismatched inner dimensions name both shapes', () => {
  assert.throws(() => matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])), (error: Error) =>
    error instanceof QkvShapeError && error.message === 'matmul: cannot multiply (2,3) by (4,5): inner dimensions 3 and 4 differ');
  assert.throws(() => matmul(Tensor.zeros([2, 2, 3]), Tensor.zeros([3, 3, 4])), QkvShapeError);
  assert.throws(() => matmul(Tensor.scalar(1), Tensor.zeros([3])), QkvShapeError);
});

test('batch dims broadcast: (2,1,3,4)·(5,4,2) → (2,5,3,2)', () => {
  const a = Tensor.randn([2, 1, 3, 4], { rng, dtype: 'float64' });
  const b = Tensor.randn([5, 4, 2], { rng, dtype: 'float64' });
  const c = matmul(a, b);
  assert.deepEqual(c.shape, [2, 5, 3, 2]);
  const aList = a.tolist() as number[][][][];
  const bList = b.tolist() as number[][][];
  const expected: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 5; j++) expected.push(...naive2d(aList[i][0], bList[j]).flat());
  assertAllClose(c.toArray(), expected, 1e-12, 'broadcast matmul');
});

test('(B,T,C)·(C,N) runs as one tall matrix; float32 agrees with float64', () => {
  const x = Tensor.randn([3, 5, 4], { rng });
  const w = Tensor.randn([4, 6], { rng });
  const { result, calls } = spyKernel(() => matmul(x, w));
  assert.equal(calls.length, 1);
  assert.deepEqual([calls[0].params.batch, calls[0].params.m, calls[0].params.n, calls[0].params.k], [1, 15, 6, 4]);
  const exact = matmul(x.to('float64'), w.to('float64'));
  assertAllClose(result.toArray(), exact.toArray(), 1e-5, 'float32 vs float64');
});

test('a transposed view goes to the kernel as transB / transA, not as a copy', () => {
  const weight = Tensor.randn([6, 4], { rng }); // (out, in) like a Linear weight
  const x = Tensor.randn([2, 4], { rng });
  const weightT = swapLastTwo(weight); // (4, 6) view
  const { result, calls } = spyKernel(() => matmul(x, weightT));
  assert.equal(calls.length, 1);
  assert.equal(calls[0].params.transB, true);
  assert.equal(calls[0].b, weight.data, 'the kernel reads the weight storage itself');
  assertAllClose(result.toArray(), naive2d(x.tolist() as number[][], weightT.contiguousCopy().tolist() as number[][]).flat(), 1e-5, 'x·wᵀ');

  const aT = swapLastTwo(Tensor.randn([3, 5, 2], { rng })); // (3,2,5) view
  const b = Tensor.randn([5, 4], { rng });
  const { result: stacked, calls: stackedCalls } = spyKernel(() => matmul(aT, b));
  assert.equal(stackedCalls[0].params.transA, true);
  const aList = aT.contiguousCopy().tolist() as number[][][];
  assertAllClose(stacked.toArray(), aList.flatMap((matrix) => naive2d(matrix, b.tolist() as number[][]).flat()), 1e-5, 'aᵀ·b stacked');
});

test('an operand with uneven row spacing is copied and still correct', () => {
  // Columns 1..3 of a (3,5) matrix: rows 5 apart but only 3 wide.
  const base = Tensor.randn([3, 5], { rng });
  const narrowed = new Tensor(base.data, [3, 3], [5, 1], 1);
  const b = Tensor.randn([3, 2], { rng });
  const expected = naive2d(narrowed.contiguousCopy().tolist() as number[][], b.tolist() as number[][]).flat();
  assertAllClose(matmul(narrowed, b).toArray(), expected, 1e-5, 'narrowed');
});

test('gradients: odd shapes, 1-D operands, broadcast batch dims, transposed views', () => {
  const cases: [number[], number[]][] = [
    [[3, 5], [5, 7]],
    [[1, 1], [1, 1]],
    [[7], [7]],
    [[7], [7, 3]],
    [[3, 7], [7]],
    [[2, 3, 5], [5, 4]], // folded into one tall matrix
    [[3, 4], [2, 4, 5]], // A broadcast over the batch
    [[2, 1, 3, 4], [5, 4, 2]], // both broadcast
    [[2, 3, 1, 5], [5, 1]],
    [[4], [2, 4, 3]],
    [[2, 3, 4], [4]],
  ];
  for (const [shapeA, shapeB] of cases) {
    gradcheck(`matmul ${shapeA} · ${shapeB}`, (a, b) => matmul(a, b), [f64(shapeA), f64(shapeB)]);
  }
  gradcheck('matmul x · wᵀ', (x, w) => matmul(x, swapLastTwo(w)), [f64([3, 5]), f64([4, 5])]);
  gradcheck('matmul aᵀ · b batched', (a, b) => matmul(swapLastTwo(a), b), [f64([2, 5, 3]), f64([2, 5, 4])]);
  gradcheck('matmul aᵀ · bᵀ broadcast', (a, b) => matmul(swapLastTwo(a), swapLastTwo(b)), [f64([2, 5, 3]), f64([4, 5])]);
  // Only one input needing grad skips the other.
  const frozen = Tensor.randn([5, 4], { dtype: 'float64', rng });
  gradcheck('matmul frozen weight', (x) => matmul(x, frozen), [f64([3, 5])]);
});

test('backward of (B,T,C)·(C,N) sums the weight gradient over the batch', () => {
  const x = Tensor.from([[[1, 2]], [[3, 4]]], undefined, { requiresGrad: true }); // (2,1,2)
  const w = Tensor.from([[1, 0, 2], [0, 1, 3]], undefined, { requiresGrad: true }); // (2,3)
  matmul(x, w).backward({ gradient: Tensor.ones([2, 1, 3]) });
  // dW = Σ_b x[b]ᵀ·1 = [[1+3]*3, [2+4]*3]; dx = 1·wᵀ = row sums of w
  assert.deepEqual(w.grad!.tolist(), [[4, 4, 4], [6, 6, 6]]);
  assert.deepEqual(x.grad!.tolist(), [[[3, 4]], [[3, 4]]]);
});
