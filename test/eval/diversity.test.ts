import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distinctN } from '../../src/eval/diversity.ts';
import { exactMatch, tokenAccuracy } from '../../src/eval/exact-match.ts';

test('distinct-n counted by hand', () => {
  assert.equal(distinctN(['a b a b'], 1), 2 / 4);
  assert.equal(distinctN(['a b a b'], 2), 2 / 3); // ab, ba, ab
  assert.equal(distinctN(['a b', 'a b'], 2), 1 / 2);
  assert.equal(distinctN(['a'], 2), 0); // no bigrams
  assert.throws(() => distinctN(['a'], 0), /positive integer/);
});

test('exact match and token accuracy by hand; segment counts must agree', () => {
  assert.equal(exactMatch(['2021-03-03', '2020-01-01'], ['2021-03-03', '2020-01-02']), 0.5);
  assert.equal(exactMatch(['A '], ['a'], (t) => t.trim().toLowerCase()), 1);
  assert.equal(tokenAccuracy([['a', 'b', 'x']], [['a', 'b', 'c', 'd']]), 0.5);
  assert.equal(tokenAccuracy([['a', 'b', 'c', 'd', 'e']], [['a', 'b']]), 1);
  assert.throws(() => exactMatch(['a'], []), /1 hypotheses but 0 references/);
});
