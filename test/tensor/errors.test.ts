import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QkvError, QkvShapeError, QkvValueError, QkvStateDictError, formatShape } from '../../src/tensor/errors.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

test('errors are typed, named, and share the QkvError base', () => {
  for (const ErrorClass of [QkvShapeError, QkvValueError, QkvStateDictError]) {
    const error = new ErrorClass('something');
    assert.ok(error instanceof QkvError && error instanceof Error);
    assert.equal(error.name, ErrorClass.name);
  }
  assert.equal(formatShape([2, 3]), '(2,3)');
  assert.equal(formatShape([]), '()');
});

test('matmul shape errors read as the issue asks', () => {
  assert.throws(() => Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5])), (error: Error) =>
    error instanceof QkvShapeError && error.message === 'matmul: cannot multiply (2,3) by (4,5): inner dimensions 3 and 4 differ');
});
