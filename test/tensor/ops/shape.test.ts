import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { QkvShapeError, QkvValueError } from '../../../src/tensor/errors.ts';
import {
  concat,
  expand,
  flatten,
  narrow,
  permute,
  reshape,
  slice,
  split,
  squeeze,
  stack,
  transpose,
  unsqueeze,
  view,
} from '../../../src/tensor/ops/shape.ts';

const rng = new Rng(5);
const f64 = (shape: number[]) => Tensor.rand(shape, { dtype: 'float64', rng, low: -2, high: 2, requiresGrad: true });
const shapeError = (pattern: RegExp) => (error: Error) => error instanceof QkvShapeError && pattern.test(error.message);
const valueError = (pattern: RegExp) => (error: Error) => error instanceof QkvValueError && pattern.test(error.message);

/** [[0,1,2],[3,4,5]] */
const grid = () => Tensor.arange(6).reshape(2, 3);

test('reshape of a contiguous tensor is a view; -1 is inferred', () => {
  const x = Tensor.arange(6);
  const y = reshape(x, [2, -1]);
  assert.deepEqual(y.shape, [2, 3]);
  assert.equal(y.data, x.data, 'shares storage');
  assert.deepEqual(y.tolist(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(reshape(y, [3, 2]).tolist(), [[0, 1], [2, 3], [4, 5]]);
  assert.deepEqual(reshape(Tensor.scalar(7), [1, 1]).tolist(), [[7]]);
  assert.deepEqual(reshape(Tensor.from([7]), []).shape, []);
});

test('reshape of a non-viewable layout copies, in row-major order', () => {
  const xt = transpose(grid(), 0, 1); // [[0,3],[1,4],[2,5]]
  const flat = reshape(xt, [6]);
  assert.notEqual(flat.data, xt.data);
  assert.deepEqual(flat.tolist(), [0, 3, 1, 4, 2, 5]);
  // A narrowed view fed into reshape: the row window is contiguous (a view), the column window is not (a copy).
  const x = Tensor.arange(12).reshape(3, 4);
  const rows = narrow(x, 0, 1, 2);
  const rowsFlat = reshape(rows, [8]);
  assert.equal(rowsFlat.data, x.data);
  assert.deepEqual(rowsFlat.tolist(), [4, 5, 6, 7, 8, 9, 10, 11]);
  const columns = narrow(x, 1, 1, 2); // [[1,2],[5,6],[9,10]]
  assert.deepEqual(reshape(columns, [2, 3]).tolist(), [[1, 2, 5], [6, 9, 10]]);
});

test('reshape errors name the op and both shapes', () => {
  assert.throws(() => reshape(grid(), [4, 2]), shapeError(/^reshape: cannot view \(2,3\) as \(4,2\): 6 elements vs 8$/));
  assert.throws(() => reshape(grid(), [-1, -1]), shapeError(/^reshape: only one dimension of \(-1,-1\) can be -1/));
  assert.throws(() => reshape(grid(), [4, -1]), shapeError(/^reshape: cannot infer -1 in \(4,-1\) for 6 elements/));
});

test('view shares storage: writes to the base are seen through the view', () => {
  const base = Tensor.arange(6);
  const v = view(base, [3, 2]);
  assert.equal(v.data, base.data);
  base.data[3] = 42;
  assert.equal(v.get(1, 1), 42);
  v.data[0] = -1;
  assert.equal(base.get(0), -1);
});

test('view splits or merges dims of strided layouts where strides allow, and throws otherwise', () => {
  // (6,4) transposed to (4,6) with strides (1,4): splitting the 6 into (2,3) needs no copy.
  const x = Tensor.arange(24).reshape(6, 4);
  const xt = transpose(x, 0, 1);
  const split3 = view(xt, [4, 2, 3]);
  assert.equal(split3.data, x.data);
  assert.deepEqual(split3.strides, [1, 12, 4]);
  assert.deepEqual(split3.toArray(), xt.toArray());
  assert.deepEqual(view(xt, [4, 6, 1]).toArray(), xt.toArray());
  // Merging the transposed axes is impossible without a copy.
  assert.throws(() => view(xt, [24]), shapeError(/^view: cannot view \(4,6\) with strides \(1,4\) as \(24\) without copying/));
  assert.throws(() => view(x, [5, 5]), shapeError(/^view: cannot view \(6,4\) as \(5,5\): 24 elements vs 25/));
  // A narrowed row window stays viewable.
  assert.deepEqual(view(narrow(x, 0, 2, 2), [8]).tolist(), [8, 9, 10, 11, 12, 13, 14, 15]);
});

test('permute and transpose are views with permuted strides', () => {
  const x = Tensor.arange(24).reshape(2, 3, 4);
  const p = permute(x, [2, 0, 1]);
  assert.deepEqual(p.shape, [4, 2, 3]);
  assert.deepEqual(p.strides, [1, 12, 4]);
  assert.equal(p.data, x.data);
  assert.equal(p.get(3, 1, 2), x.get(1, 2, 3));
  assert.deepEqual(permute(x, [-1, 0, 1]).shape, [4, 2, 3], 'negative axes');
  const t = transpose(grid(), -1, -2);
  assert.deepEqual(t.tolist(), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(grid().transpose().shape, [3, 2], 'the method defaults to the last two axes');
  assert.throws(() => permute(x, [0, 1]), shapeError(/^permute: 2 axes \[0,1\] given for shape \(2,3,4\) of rank 3/));
  assert.throws(() => permute(x, [0, 1, 1]), valueError(/^permute: axes \[0,1,1\] repeat axis 1 \(shape \(2,3,4\)\)/));
  assert.throws(() => transpose(x, 0, 3), valueError(/^transpose: axis 3 is out of range for a tensor of rank 3/));
});

test('expand broadcasts size-1 dims with stride 0; -1 keeps a dim', () => {
  const column = Tensor.from([[1], [2]]);
  const e = expand(column, [2, 3]);
  assert.deepEqual(e.tolist(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(e.strides, [1, 0]);
  assert.equal(e.data, column.data);
  const leading = expand(Tensor.from([1, 2, 3]), [2, -1]);
  assert.deepEqual(leading.tolist(), [[1, 2, 3], [1, 2, 3]]);
  assert.deepEqual(leading.strides, [0, 1]);
  assert.throws(() => expand(grid(), [4, 3]), shapeError(/^expand: cannot expand \(2,3\) to \(4,3\): dimension 0 is 2, not 1/));
  assert.throws(() => expand(grid(), [3]), shapeError(/^expand: cannot expand \(2,3\) to \(3\)/));
});

test('expand backward sums over the broadcast axes', () => {
  const x = Tensor.from([[1], [2]], undefined, { requiresGrad: true });
  expand(x, [3, 2, 4]).backward({ gradient: Tensor.ones([3, 2, 4]) });
  assert.deepEqual(x.grad!.tolist(), [[12], [12]]);
});

test('narrow and slice are views via the offset', () => {
  const x = Tensor.arange(12).reshape(3, 4);
  const n = narrow(x, 1, 1, 2);
  assert.deepEqual(n.tolist(), [[1, 2], [5, 6], [9, 10]]);
  assert.equal(n.offset, 1);
  assert.equal(n.data, x.data);
  assert.deepEqual(narrow(x, -2, -2, 1).tolist(), [[4, 5, 6, 7]], 'negative axis and start');
  assert.deepEqual(slice(x, -1, 0, -1).tolist(), [[0, 1, 2], [4, 5, 6], [8, 9, 10]]);
  assert.deepEqual(slice(x, 0, -2).tolist(), [[4, 5, 6, 7], [8, 9, 10, 11]]);
  assert.deepEqual(slice(x, 1, 3, 100).tolist(), [[3], [7], [11]], 'end is clamped');
  assert.deepEqual(slice(x, 1, 3, 1).shape, [3, 0], 'an empty range gives a zero-size axis');
  assert.throws(() => narrow(x, 1, 3, 2), valueError(/^narrow: start 3 and length 2 do not fit axis 1 of size 4 in shape \(3,4\)/));
  assert.throws(() => narrow(x, 2, 0, 1), valueError(/^narrow: axis 2 is out of range/));
});

test('narrow backward pads the gradient with zeros', () => {
  const x = Tensor.zeros([2, 4], { requiresGrad: true });
  narrow(x, 1, 1, 2).backward({ gradient: Tensor.from([[1, 2], [3, 4]]) });
  assert.deepEqual(x.grad!.tolist(), [[0, 1, 2, 0], [0, 3, 4, 0]]);
});

test('squeeze, unsqueeze and flatten', () => {
  const x = Tensor.zeros([1, 3, 1, 2]);
  assert.deepEqual(squeeze(x).shape, [3, 2]);
  assert.deepEqual(squeeze(x, 2).shape, [1, 3, 2]);
  assert.deepEqual(squeeze(x, -4).shape, [3, 1, 2]);
  assert.deepEqual(squeeze(x, 1).shape, [1, 3, 1, 2], 'squeezing a dim that is not 1 is a no-op, as in PyTorch');
  assert.equal(squeeze(x).data, x.data);
  const g = grid();
  assert.deepEqual(unsqueeze(g, 0).shape, [1, 2, 3]);
  assert.deepEqual(unsqueeze(g, -1).tolist(), [[[0], [1], [2]], [[3], [4], [5]]]);
  assert.deepEqual(unsqueeze(g, 1).shape, [2, 1, 3]);
  assert.ok(unsqueeze(g, 1).isContiguous());
  assert.throws(() => unsqueeze(g, 3), valueError(/^unsqueeze: axis 3 is out of range for shape \(2,3\)/));
  const cube = Tensor.arange(24).reshape(2, 3, 4);
  assert.deepEqual(flatten(cube, 0, -1).shape, [24]);
  assert.deepEqual(flatten(cube, 1, 2).shape, [2, 12]);
  assert.deepEqual(flatten(cube, 0, 1).shape, [6, 4]);
  assert.deepEqual(flatten(Tensor.scalar(3), 0, -1).shape, [1]);
  assert.deepEqual(flatten(transpose(cube, 0, 2), 0, -1).toArray().slice(0, 4), [0, 12, 4, 16], 'a strided input is copied in order');
  assert.throws(() => flatten(cube, 2, 1), valueError(/^flatten: start axis 2 comes after end axis 1 in shape \(2,3,4\)/));
});

test('split gives views of consecutive pieces', () => {
  const x = Tensor.arange(14).reshape(2, 7);
  const pieces = split(x, 3, -1);
  assert.deepEqual(pieces.map((p) => p.shape), [[2, 3], [2, 3], [2, 1]]);
  assert.deepEqual(pieces[2].tolist(), [[6], [13]]);
  assert.ok(pieces.every((p) => p.data === x.data));
  const [a, b] = split(x, [5, 2], 1);
  assert.deepEqual(a.toArray().slice(5), [7, 8, 9, 10, 11]);
  assert.deepEqual(b.tolist(), [[5, 6], [12, 13]]);
  assert.deepEqual(x.split(1, 0).length, 2, 'the method defaults to axis 0');
  assert.throws(() => split(x, [3, 3], 1), shapeError(/^split: sizes \[3,3\] add up to 6, but axis 1 of \(2,7\) has size 7/));
  assert.throws(() => split(x, 0, 1), valueError(/^split: piece size must be a positive integer, got 0/));
});

test('backward through split: unused pieces get zero gradient', () => {
  const x = Tensor.zeros([2, 5], { requiresGrad: true });
  const [, middle] = split(x, [1, 3, 1], 1);
  middle.backward({ gradient: Tensor.ones([2, 3]) });
  assert.deepEqual(x.grad!.tolist(), [[0, 1, 1, 1, 0], [0, 1, 1, 1, 0]]);
});

test('concat and stack', () => {
  const a = grid();
  const b = Tensor.from([[10], [20]]);
  assert.deepEqual(concat([a, b], 1).tolist(), [[0, 1, 2, 10], [3, 4, 5, 20]]);
  assert.deepEqual(concat([a, a], 0).shape, [4, 3]);
  assert.deepEqual(concat([a, transpose(Tensor.from([[7, 8], [9, 6]]), 0, 1)], -1).tolist(), [[0, 1, 2, 7, 9], [3, 4, 5, 8, 6]], 'strided input');
  const mixed = concat([Tensor.from([1]), Tensor.from([2], [1], { dtype: 'float64' })], 0);
  assert.equal(mixed.dtype, 'float64');
  assert.throws(() => concat([a, b], 0), shapeError(/^concat: cannot join \(2,3\), \(2,1\) along axis 0: all dims but axis 0 must match/));
  assert.throws(() => concat([], 0), valueError(/^concat: needs at least one tensor/));
  const s = stack([a, a.mul(2)], 0);
  assert.deepEqual(s.shape, [2, 2, 3]);
  assert.deepEqual(s.narrow(0, 1, 1).tolist(), [[[0, 2, 4], [6, 8, 10]]]);
  assert.deepEqual(stack([a, a], -1).shape, [2, 3, 2]);
  assert.deepEqual(stack([a, a], -1).narrow(0, 0, 1).narrow(1, 2, 1).toArray(), [2, 2]);
  assert.deepEqual(stack([Tensor.scalar(1), Tensor.scalar(2)], 0).tolist(), [1, 2]);
  assert.throws(() => stack([a, b], 0), shapeError(/^stack: all shapes must be equal, got \(2,3\), \(2,1\)/));
  assert.throws(() => stack([a, a], 3), valueError(/^stack: axis 3 is out of range for inputs of shape \(2,3\)/));
});

test('gradients of views and joins with odd shapes and negative axes', () => {
  gradcheck('reshape', (x) => reshape(x, [5, -1]), [f64([3, 5])]);
  gradcheck('reshape of transposed (copy)', (x) => reshape(transpose(x, 0, 1), [15]), [f64([3, 5])]);
  gradcheck('view', (x) => view(x, [7, 1, 3]), [f64([3, 7])]);
  gradcheck('permute', (x) => permute(x, [2, 0, 1]), [f64([3, 5, 2])]);
  gradcheck('transpose', (x) => transpose(x, -1, 0), [f64([3, 1, 5])]);
  gradcheck('expand', (x) => expand(x, [2, 3, -1, 5]), [f64([3, 1, 1])]);
  gradcheck('narrow', (x) => narrow(x, -1, 1, 3), [f64([3, 5])]);
  gradcheck('slice', (x) => slice(x, 0, -2), [f64([5, 3])]);
  gradcheck('squeeze', (x) => squeeze(x), [f64([1, 3, 1, 5])]);
  gradcheck('unsqueeze', (x) => unsqueeze(x, -2), [f64([3, 5])]);
  gradcheck('flatten', (x) => flatten(x, 1, -1), [f64([3, 5, 1])]);
  gradcheck('split', (x) => {
    const [p, q, r] = split(x, [2, 4, 1], -1);
    return concat([r, p.mul(q.narrow(1, 0, 2))], 1);
  }, [f64([3, 7])]);
  gradcheck('concat', (a, b, c) => concat([a, transpose(b, 0, 1), c], -1), [f64([3, 2]), f64([5, 3]), f64([3, 1])]);
  gradcheck('stack', (a, b) => stack([a, b], -1), [f64([3, 5]), f64([3, 5])]);
  gradcheck('narrow then reshape', (x) => reshape(narrow(x, 1, 1, 3), [-1]), [f64([5, 7])]);
});
