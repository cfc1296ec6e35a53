import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QkvError } from '../../src/tensor/errors.ts';
import { describeValue, formatError, QkvFormatError } from '../../src/tokenizers/errors.ts';

test('QkvFormatError is a QkvError that names the file and the field', () => {
  const error = formatError('t.json', 'model.merges[3]', 'a string', 'number 5');
  assert.ok(error instanceof QkvError);
  assert.equal(error.name, 'QkvFormatError');
  assert.equal(error.message, 't.json: field "model.merges[3]": expected a string, found number 5');
  assert.equal(error.where, 'field "model.merges[3]"');
});

test('describeValue says what was found', () => {
  assert.equal(describeValue(null), 'null');
  assert.equal(describeValue([1, 2]), 'array(2)');
  assert.equal(describeValue({}), 'object');
  assert.equal(describeValue('x'.repeat(50)), `string "${'x'.repeat(40)}…"`);
});
