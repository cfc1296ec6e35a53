import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invertVocab } from '../../src/tokenizers/model.ts';

test('invertVocab gives id → token, sized by the largest id', () => {
  const tokens = invertVocab(new Map([['a', 0], ['c', 2]]));
  assert.equal(tokens.length, 3);
  assert.equal(tokens[0], 'a');
  assert.equal(tokens[1], undefined);
  assert.equal(tokens[2], 'c');
});
