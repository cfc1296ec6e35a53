import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countWords, pairKey, pairLeft, pairRight, WordPairCounts } from '../../src/tokenizers/pair-counts.ts';

test('pair keys pack and unpack', () => {
  const key = pairKey(50_000, 1_999_999);
  assert.equal(pairLeft(key), 50_000);
  assert.equal(pairRight(key), 1_999_999);
});

test('merging updates pair and symbol counts as a full recount would', () => {
  // words: "abab" ×3, "ab" ×1, "b" ×2 with a=0, b=1
  const words = [[0, 1, 0, 1], [0, 1], [1]];
  const counts = [3, 1, 2];
  const stats = new WordPairCounts(words.map((w) => w.slice()), counts);
  assert.equal(stats.pairCounts.get(pairKey(0, 1)), 7);
  assert.equal(stats.pairCounts.get(pairKey(1, 0)), 3);
  const grown = stats.merge(0, 1, 2);
  assert.deepEqual(grown, [pairKey(2, 2)]);
  assert.deepEqual([...stats.pairCounts], [[pairKey(2, 2), 3]]);
  assert.equal(stats.symbolCounts.get(2), 7);
  assert.equal(stats.symbolCounts.get(0), 0);
  assert.equal(stats.symbolCounts.get(1), 2);
});

test('countWords counts occurrences', () => {
  assert.deepEqual([...countWords(['a', 'b', 'a'])], [['a', 2], ['b', 1]]);
});
