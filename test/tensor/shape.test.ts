import { test } from 'node:test';
import assert from 'node:assert/strict';
import { broadcastShapes, broadcastStrides, contiguousStrides, normalizeAxis, numel, resolveShape } from '../../src/tensor/shape.ts';
import { QkvShapeError, QkvValueError } from '../../src/tensor/errors.ts';

test('sizes and row-major strides', () => {
  assert.equal(numel([]), 1);
  assert.equal(numel([2, 0, 3]), 0);
  assert.deepEqual(contiguousStrides([2, 3, 4]), [12, 4, 1]);
  assert.deepEqual(contiguousStrides([]), []);
});

test('NumPy broadcasting rules, with the failing dimension named', () => {
  assert.deepEqual(broadcastShapes('op', [8, 1, 6, 1], [7, 1, 5]), [8, 7, 6, 5]); // NumPy docs example
  assert.deepEqual(broadcastShapes('op', [], [3]), [3]);
  assert.deepEqual(broadcastShapes('op', [5, 4], [1]), [5, 4]);
  assert.throws(() => broadcastShapes('mul', [2, 1], [8, 4, 3]), (error: Error) =>
    error instanceof QkvShapeError && /mul: cannot broadcast shapes \(2,1\) and \(8,4,3\): dimension 1 is 2 in one and 4 in another/.test(error.message));
  assert.deepEqual(broadcastStrides([3, 1], [1, 1], [2, 3, 4]), [0, 1, 0]);
});

test('axes normalise like Python indices; out of range is named', () => {
  assert.equal(normalizeAxis(-1, 3, 'sum'), 2);
  assert.equal(normalizeAxis(0, 0, 'sum'), 0);
  assert.throws(() => normalizeAxis(3, 3, 'sum'), (error: Error) => error instanceof QkvValueError && /sum: axis 3 is out of range for a tensor of rank 3/.test(error.message));
});

test('-1 is inferred once; bad shapes are named', () => {
  assert.deepEqual(resolveShape('reshape', [2, -1], 6), [2, 3]);
  assert.throws(() => resolveShape('reshape', [-1, -1], 6), /only one dimension/);
  assert.throws(() => resolveShape('reshape', [4, -1], 6), /cannot infer -1 in \(4,-1\) for 6 elements/);
  assert.throws(() => resolveShape('zeros', [2.5]), /invalid dimension 2.5/);
});
