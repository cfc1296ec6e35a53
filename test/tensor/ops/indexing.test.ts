import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { QkvShapeError, QkvValueError } from '../../../src/tensor/errors.ts';
import { embedding, indexSelect, maskedFill, where } from '../../../src/tensor/ops/indexing.ts';

const rng = new Rng(3);
const f64 = (shape: number[]) => Tensor.rand(shape, { dtype: 'float64', rng, low: -2, high: 2, requiresGrad: true });
const shapeError = (pattern: RegExp) => (error: Error) => error instanceof QkvShapeError && pattern.test(error.message);
const valueError = (pattern: RegExp) => (error: Error) => error instanceof QkvValueError && pattern.test(error.message);

/** [[0,1,2,3],[4,5,6,7],[8,9,10,11]] */
const grid = () => Tensor.arange(12).reshape(3, 4);

test('indexSelect gathers along an axis, repeats allowed', () => {
  const x = grid();
  assert.deepEqual(indexSelect(x, 0, [2, 0, 2]).tolist(), [[8, 9, 10, 11], [0, 1, 2, 3], [8, 9, 10, 11]]);
  assert.deepEqual(indexSelect(x, -1, new Int32Array([3, 1])).tolist(), [[3, 1], [7, 5], [11, 9]]);
  assert.deepEqual(indexSelect(x, 1, Tensor.from([0])).shape, [3, 1]);
  assert.deepEqual(indexSelect(x, 0, Tensor.from([[1], [0]])).shape, [2, 1, 4], 'an index tensor replaces the axis by its shape');
  assert.deepEqual(x.indexSelect(0, []).shape, [0, 4]);
  // A transposed (strided) input: rows of xᵀ are columns of x.
  assert.deepEqual(indexSelect(x.transpose(0, 1), 0, [1, 3]).tolist(), [[1, 5, 9], [3, 7, 11]]);
  assert.deepEqual(indexSelect(x.narrow(1, 1, 2), 1, [1]).tolist(), [[2], [6], [10]], 'narrowed input');
});

test('indexSelect backward scatter-adds: repeated indices accumulate', () => {
  const x = Tensor.zeros([3, 2], { requiresGrad: true });
  indexSelect(x, 0, [2, 0, 2]).backward({ gradient: Tensor.from([[1, 2], [3, 4], [5, 6]]) });
  assert.deepEqual(x.grad!.tolist(), [[3, 4], [0, 0], [6, 8]]);
});

test('indexSelect rejects out-of-range and non-integer indices', () => {
  assert.throws(() => indexSelect(grid(), 1, [0, 4]), valueError(/^indexSelect: index 4 is out of range for axis 1 of size 4 in shape \(3,4\)/));
  assert.throws(() => indexSelect(grid(), 0, [-1]), valueError(/^indexSelect: index -1 is out of range/));
  assert.throws(() => indexSelect(grid(), 0, [0.5]), valueError(/^indexSelect: index 0.5 at position 0 is not an integer/));
  assert.throws(() => indexSelect(grid(), 2, [0]), valueError(/^indexSelect: axis 2 is out of range for a tensor of rank 2/));
});

test('embedding looks up rows: ids.shape + [C]', () => {
  const weight = Tensor.arange(10).reshape(5, 2); // V=5, C=2
  const out = embedding(weight, Tensor.from([[4, 0, 4], [1, 1, 2]]));
  assert.deepEqual(out.shape, [2, 3, 2]);
  assert.deepEqual(out.tolist(), [[[8, 9], [0, 1], [8, 9]], [[2, 3], [2, 3], [4, 5]]]);
  assert.deepEqual(embedding(weight, new Int32Array([3])).tolist(), [[6, 7]]);
  assert.deepEqual(embedding(weight, Tensor.scalar(2)).tolist(), [4, 5], 'a scalar id gives one row');
});

test('embedding backward scatter-adds into the (V, C) gradient', () => {
  const weight = Tensor.zeros([4, 3], { requiresGrad: true });
  const out = embedding(weight, Tensor.from([[1, 3], [1, 1]]));
  out.backward({ gradient: Tensor.from([[[1, 1, 1], [2, 2, 2]], [[10, 20, 30], [100, 200, 300]]]) });
  assert.deepEqual(weight.grad!.tolist(), [[0, 0, 0], [111, 221, 331], [0, 0, 0], [2, 2, 2]]);
});

test('embedding errors name the id, V and the weight shape', () => {
  const weight = Tensor.zeros([10, 4]);
  assert.throws(() => embedding(weight, [3, 10]), valueError(/^embedding: id 10 is out of range for a vocabulary of V=10 \(weight \(10,4\)\)/));
  assert.throws(() => embedding(weight, [-2]), valueError(/^embedding: id -2 is out of range/));
  assert.throws(() => embedding(Tensor.zeros([10]), [1]), shapeError(/^embedding: weight must be \(V, C\), got \(10\)/));
});

test('where picks a where the condition is nonzero, with broadcasting', () => {
  const condition = Tensor.from([[1], [0]]);
  const a = Tensor.from([1, 2, 3]);
  const b = Tensor.from([[10, 20, 30], [40, 50, 60]]);
  assert.deepEqual(where(condition, a, b).tolist(), [[1, 2, 3], [40, 50, 60]]);
  assert.deepEqual(where(Tensor.from([1, 0, 2]), a, -Infinity).tolist(), [1, -Infinity, 3]);
  assert.deepEqual(where(Tensor.from([0, 1]), 5, 7).tolist(), [7, 5]);
  assert.equal(where(Tensor.from([1]), Tensor.from([1], [1], { dtype: 'float64' }), 0).dtype, 'float64');
  assert.deepEqual(where(Tensor.from([[1], [0], [1]]), a.expand(2, 3).transpose(0, 1), 0).tolist(), [[1, 1], [0, 0], [3, 3]], 'strided operands');
  assert.throws(() => where(Tensor.from([1, 0]), a, 0), shapeError(/^where: cannot broadcast shapes \(2\) and \(3\) and \(\)/));
});

test('where backward routes each gradient to the side that was picked', () => {
  const a = Tensor.zeros([3], { requiresGrad: true });
  const b = Tensor.zeros([2, 1], { requiresGrad: true });
  where(Tensor.from([[1, 0, 1], [0, 0, 1]]), a, b).backward({ gradient: Tensor.from([[1, 2, 3], [4, 5, 6]]) });
  assert.deepEqual(a.grad!.tolist(), [1, 0, 9]);
  assert.deepEqual(b.grad!.tolist(), [[2], [9]]);
});

test('maskedFill with a causal mask broadcast over the batch, filling -Infinity', () => {
  const scores = Tensor.arange(8).reshape(2, 2, 2); // (B,T,T)
  const causalMask = Tensor.from([[0, 1], [0, 0]]); // 1 above the diagonal: future positions
  const masked = maskedFill(scores, causalMask, -Infinity);
  assert.deepEqual(masked.tolist(), [[[0, -Infinity], [2, 3]], [[4, -Infinity], [6, 7]]]);
  assert.deepEqual(scores.toArray(), [0, 1, 2, 3, 4, 5, 6, 7], 'the input is not modified');
  assert.deepEqual(grid().transpose(0, 1).maskedFill(Tensor.from([1, 0, 0]), 0).tolist(), [[0, 4, 8], [0, 5, 9], [0, 6, 10], [0, 7, 11]], 'strided input');
  assert.deepEqual(maskedFill(Tensor.ones([2, 3]), Tensor.from([[0], [1]]), 5).tolist(), [[1, 1, 1], [5, 5, 5]], 'a column mask');
  assert.throws(() => maskedFill(Tensor.zeros([2, 3]), Tensor.zeros([4, 2, 3]), 0), shapeError(/^maskedFill: mask \(4,2,3\) does not broadcast to the input \(2,3\)/));
  assert.throws(() => maskedFill(Tensor.zeros([2, 3]), Tensor.zeros([2]), 0), shapeError(/^maskedFill: cannot broadcast shapes \(2,3\) and \(2\)/));
});

test('maskedFill backward gives zero gradient at filled positions', () => {
  const x = Tensor.zeros([2, 3], { requiresGrad: true });
  maskedFill(x, Tensor.from([1, 0, 1]), -Infinity).backward({ gradient: Tensor.from([[1, 2, 3], [4, 5, 6]]) });
  assert.deepEqual(x.grad!.tolist(), [[0, 2, 0], [0, 5, 0]]);
});

test('maskedFill (a repeated block of runs) matches an element-by-element fill on odd shapes', () => {
  const random = (shape: number[]) => Tensor.randn(shape, { rng });
  const randomMask = (shape: number[]) => Tensor.rand(shape, { rng }).sub(0.5).relu(); // about half nonzero
  const cases: [string, Tensor, Tensor][] = [
    ['causal (1,1,T,T) under (B,NH,T,T)', random([2, 3, 5, 5]), Tensor.from(Array.from({ length: 25 }, (_, i) => (i % 5 > Math.floor(i / 5) ? 1 : 0)), [1, 1, 5, 5])],
    ['random trailing block', random([3, 4, 7]), randomMask([4, 7])],
    ['padding (B,1,1,Tk) under (B,NH,Tq,Tk), not a trailing block', random([2, 3, 4, 5]), randomMask([2, 1, 1, 5])],
    ['column mask', random([5, 3]), randomMask([5, 1])],
    ['same shape, strided input', random([7, 3]).transpose(0, 1), randomMask([3, 7])],
    ['scalar mask', random([2, 3]), Tensor.from([1], [])],
    ['nothing masked', random([4, 3]), Tensor.zeros([3])],
    ['everything masked', random([4, 3]), Tensor.ones([4, 3])],
    ['NaN counts as nonzero', random([2, 3]), Tensor.from([NaN, 0, 1])],
  ];
  for (const [what, x, mask] of cases) {
    const masked = maskedFill(x, mask, -Infinity);
    const maskValues = mask.expand(...x.shape).toArray();
    const expected = x.toArray().map((v, i) => (maskValues[i] !== 0 ? -Infinity : v));
    assert.deepEqual(masked.toArray(), expected, `${what}: forward`);
    const input = x.detach().requiresGrad_();
    const grad = random([...x.shape]);
    maskedFill(input, mask, -Infinity).backward({ gradient: grad });
    const g = grad.toArray();
    assert.deepEqual(input.grad!.toArray(), g.map((v, i) => (maskValues[i] !== 0 ? 0 : v)), `${what}: backward`);
  }
});

test('gradients of the gathers and selections with odd shapes and negative axes', () => {
  gradcheck('indexSelect 0', (x) => indexSelect(x, 0, [4, 0, 4, 2]), [f64([5, 3])]);
  gradcheck('indexSelect -1', (x) => indexSelect(x, -1, [6, 1, 1]), [f64([3, 1, 7])]);
  gradcheck('indexSelect middle, 2-D index', (x) => indexSelect(x, 1, Tensor.from([[2, 0], [2, 2]])), [f64([2, 3, 5])]);
  gradcheck('indexSelect of transposed', (x) => indexSelect(x.transpose(0, 1), 0, [1, 1, 0]), [f64([3, 5])]);
  gradcheck('embedding', (w) => embedding(w, Tensor.from([[6, 0, 6], [3, 3, 1]])), [f64([7, 5])]);
  const condition = Tensor.from([[1, 0, 0, 1, 1], [0, 1, 0, 0, 1], [1, 1, 1, 0, 0]]);
  gradcheck('where', (a, b) => where(condition, a, b), [f64([3, 5]), f64([5])]);
  gradcheck('where broadcast', (a, b) => where(condition.narrow(0, 0, 1), a, b), [f64([3, 1]), f64([1, 5])]);
  // A moderate fill value: a huge one (-1e9) would swamp the finite differences of the weighted sum.
  gradcheck('maskedFill', (x) => maskedFill(x, condition.narrow(1, 0, 1), 3), [f64([3, 7])]);
  gradcheck('maskedFill of permuted', (x) => maskedFill(x.permute(2, 0, 1), Tensor.from([1, 0, 1]), 0), [f64([5, 3, 3])]);
});
