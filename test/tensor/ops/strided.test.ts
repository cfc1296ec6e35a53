import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coalesceAxes, copyStrided, readDense, stridedOffsets, viewStrides } from '../../../src/tensor/ops/strided.ts';
import { Tensor } from '../../../src/tensor/tensor.ts';

test('stridedOffsets lists storage offsets in row-major order', () => {
  // a (2,3) matrix seen transposed: strides (1,3)
  assert.deepEqual([...stridedOffsets([3, 2], [1, 3])], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual([...stridedOffsets([2], [5], 7)], [7, 12]);
});

test('readDense shares contiguous storage and copies strided views in logical order', () => {
  const t = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  const dense = readDense(t);
  assert.equal(dense.buffer, t.data.buffer);
  assert.deepEqual([...readDense(t.transpose(0, 1))], [1, 4, 2, 5, 3, 6]);
});

test('viewStrides finds view strides when they exist and null when a copy is needed', () => {
  assert.deepEqual(viewStrides([2, 3], [3, 1], [3, 2]), [2, 1]);
  assert.deepEqual(viewStrides([2, 3], [3, 1], [6]), [1]);
  assert.equal(viewStrides([3, 2], [1, 3], [6]), null); // a transposed matrix cannot be flattened in place
});

test('coalesceAxes merges axes both operands step through evenly', () => {
  const layout = coalesceAxes([2, 3, 4], [12, 4, 1], [12, 4, 1]);
  assert.deepEqual(layout.shape, [24]);
  const bias = coalesceAxes([2, 3, 4], [12, 4, 1], [0, 0, 1]); // (…, C) + (C)
  assert.deepEqual(bias.shape, [6, 4]);
  assert.deepEqual(bias.stridesB, [0, 1]);
});

test('copyStrided writes a strided source into a target layout', () => {
  const source = Tensor.from([[1, 2], [3, 4]]).transpose(0, 1);
  const target = new Float32Array(4);
  copyStrided(target, 0, [2, 1], source);
  assert.deepEqual([...target], [1, 3, 2, 4]);
});
