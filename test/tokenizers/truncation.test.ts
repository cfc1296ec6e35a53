import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Encoding } from '../../src/tokenizers/tokenizer.ts';
import { padEncoding, truncatePair } from '../../src/tokenizers/truncation.ts';

const sequence = (n: number, from = 0) => ({ ids: [...Array(n).keys()].map((i) => from + i), tokens: [...Array(n).keys()].map((i) => `t${from + i}`) });
const options = { maxLength: 0, strategy: 'longest_first', direction: 'right' } as const;

test('longest_first takes tokens from the longer sequence until the pair fits', () => {
  const a = sequence(6);
  const b = sequence(2, 100);
  truncatePair(a, b, 5, options);
  assert.deepEqual([a.ids, b.ids], [[0, 1, 2], [100, 101]]);
  const c = sequence(4);
  const d = sequence(4, 100);
  truncatePair(c, d, 5, options);
  assert.deepEqual([c.ids.length, d.ids.length], [3, 2]);
});

test('only_first / only_second and left truncation', () => {
  const a = sequence(4);
  const b = sequence(4, 100);
  truncatePair(a, b, 6, { ...options, strategy: 'only_second' });
  assert.deepEqual([a.ids, b.ids], [[0, 1, 2, 3], [100, 101]]);
  const single = sequence(5);
  truncatePair(single, null, 2, { ...options, direction: 'left' });
  assert.deepEqual(single.tokens, ['t3', 't4']);
});

test('padding fills every array; a longer encoding is left alone', () => {
  const encoding: Encoding = { ids: [5], tokens: ['x'], typeIds: [0], attentionMask: [1], specialTokensMask: [0] };
  padEncoding(encoding, 3, { padId: 0, padTypeId: 0, padToken: '[PAD]', direction: 'right' });
  assert.deepEqual(encoding, { ids: [5, 0, 0], tokens: ['x', '[PAD]', '[PAD]'], typeIds: [0, 0, 0], attentionMask: [1, 0, 0], specialTokensMask: [0, 1, 1] });
  padEncoding(encoding, 2, { padId: 0, padTypeId: 0, padToken: '[PAD]', direction: 'right' });
  assert.equal(encoding.ids.length, 3);
});
