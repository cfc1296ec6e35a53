import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QkvFormatError } from '../../src/tokenizers/errors.ts';
import { JsonReader } from '../../src/tokenizers/json-reader.ts';

const r = new JsonReader('x.json');

test('accessors return well-typed values and defaults', () => {
  assert.deepEqual(r.object({ a: 1 }, 'f'), { a: 1 });
  assert.equal(r.objectOrNull(undefined, 'f'), null);
  assert.equal(r.index(undefined, 'f', 3), 3);
  assert.equal(r.boolean(undefined, 'f', true), true);
  assert.equal(r.stringOrNull(null, 'f'), null);
  assert.equal(r.oneOf('B', 'f', ['A', 'B']), 'B');
});

test('a wrong type names the file, the field, what was expected and what was found', () => {
  assert.throws(() => r.index(-1, 'model.vocab["a"]'), { message: 'x.json: field "model.vocab["a"]": expected a non-negative integer, found number -1' });
  assert.throws(() => r.string(undefined, 'content'), { message: 'x.json: field "content": expected a string, found nothing (missing)' });
  assert.throws(() => r.array({}, 'merges'), QkvFormatError);
  assert.throws(() => r.oneOf('C', 'type', ['A', 'B']), /expected one of "A", "B", found string "C"/);
});
