import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.ts';
import { Rng } from '../../src/tensor/random.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

test('creation: from nested arrays, flat values with a shape, zeros/ones/full/arange', () => {
  const t = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(t.strides, [3, 1]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(Tensor.from([1, 2, 3, 4, 5, 6], [3, -1]).shape, [3, 2]);
  assert.deepEqual(Tensor.zeros([2, 2]).toArray(), [0, 0, 0, 0]);
  assert.deepEqual(Tensor.full([3], 7, { dtype: 'float64' }).toArray(), [7, 7, 7]);
  assert.deepEqual(Tensor.arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.deepEqual(Tensor.arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.equal(Tensor.scalar(3).item(), 3);
  assert.deepEqual(Tensor.scalar(3).shape, []);
});

test('bad creation input names the problem', () => {
  assert.throws(() => Tensor.from([[1, 2], [3]]), /ragged/);
  assert.throws(() => Tensor.from([1, 2, 3], [2, 2]), /3 values cannot have shape \(2,2\)/);
  assert.throws(() => Tensor.zeros([2, -3]), /invalid dimension -3/);
  assert.throws(() => Tensor.from([1, 2]).item(), QkvValueError);
});

test('a strided view reads its elements in logical order', () => {
  // A 2×3 matrix seen as its 3×2 transpose by hand-made strides.
  const base = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  const transposed = new Tensor(base.data, [3, 2], [1, 3], 0);
  assert.equal(transposed.isContiguous(), false);
  assert.deepEqual(transposed.tolist(), [[1, 4], [2, 5], [3, 6]]);
  assert.equal(transposed.get(2, 1), 6);
  assert.equal(transposed.get(-1, 0), 3);
  // elementwise ops read strided inputs correctly
  assert.deepEqual(transposed.mul(10).tolist(), [[10, 40], [20, 50], [30, 60]]);
  // an offset view: the second row
  const row = new Tensor(base.data, [3], [1], 3);
  assert.deepEqual(row.add(Tensor.from([1, 1, 1])).toArray(), [5, 6, 7]);
});

test('seeded creation is reproducible', () => {
  const a = Tensor.randn([4, 4], { rng: new Rng(2) }).toArray();
  const b = Tensor.randn([4, 4], { rng: new Rng(2) }).toArray();
  assert.deepEqual(a, b);
  const u = Tensor.rand([1000], { rng: new Rng(2), low: -1, high: 1 }).toArray();
  assert.ok(u.every((v) => v >= -1 && v < 1));
});

test('dtype conversion is differentiable', () => {
  const x = Tensor.from([1, 2], [2], { dtype: 'float64', requiresGrad: true });
  const y = x.to('float32').mul(3);
  assert.equal(y.dtype, 'float32');
  y.backward({ gradient: Tensor.ones([2]) });
  assert.equal(x.grad!.dtype, 'float64');
  assert.deepEqual(x.grad!.toArray(), [3, 3]);
});
