import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer, Parameter } from '../../src/nn/parameter.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

test('a Parameter is a leaf that requires grad, sharing a contiguous value\'s storage', () => {
  const value = Tensor.from([[1, 2], [3, 4]]);
  const p = new Parameter(value);
  assert.ok(p instanceof Tensor);
  assert.equal(p.requiresGrad, true);
  assert.equal(p.gradFn, null);
  assert.equal(p.data, value.data);
  assert.equal(new Parameter(value, { requiresGrad: false }).requiresGrad, false);
});

test('a strided value is copied into dense storage', () => {
  // (2, 3) storage seen as its transpose (3, 2)
  const view = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2], [1, 3], 0);
  const p = new Parameter(view);
  assert.notEqual(p.data, view.data);
  assert.ok(p.isContiguous() && p.offset === 0);
  assert.deepEqual(p.tolist(), [[1, 4], [2, 5], [3, 6]]);
  const b = new Buffer(new Tensor(Float64Array.from([0, 1, 2, 3]), [2], [1], 2));
  assert.equal(b.dtype, 'float64');
  assert.deepEqual(b.toArray(), [2, 3]);
  assert.equal(b.data.length, 2);
});

test('a Parameter must be a leaf', () => {
  const x = Tensor.ones([2], { requiresGrad: true });
  assert.throws(() => new Parameter(x.mul(2)), (e: Error) => e instanceof QkvValueError && /leaf tensor, got the output of mul/.test(e.message));
  assert.doesNotThrow(() => new Parameter(x.mul(2).detach()));
});

test('a Buffer does not require grad and is persistent unless told otherwise', () => {
  const b = new Buffer(Tensor.zeros([3]));
  assert.equal(b.requiresGrad, false);
  assert.equal(b.persistent, true);
  assert.equal(new Buffer(Tensor.zeros([3]), { persistent: false }).persistent, false);
  assert.match(String(new Parameter(Tensor.zeros([2, 3]), { requiresGrad: false })), /Parameter\(shape=\(2,3\), dtype=float32, frozen\)/);
});
