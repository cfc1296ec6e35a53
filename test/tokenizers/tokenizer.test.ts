import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { loadGpt2Tokenizer } from '../../src/tokenizers/gpt2.ts';
import { tinyBert } from './bert-fixture.ts';

test('BERT pipeline: normalise, split, WordPiece, [CLS] A [SEP]', () => {
  const bert = tinyBert();
  const encoding = bert.encode('The CAT sat on the unaffable mat!');
  assert.deepEqual(encoding.tokens, ['[CLS]', 'the', 'cat', 'sat', 'on', 'the', 'un', '##aff', '##able', 'mat', '!', '[SEP]']);
  assert.deepEqual(encoding.typeIds, new Array(12).fill(0));
  assert.deepEqual(encoding.attentionMask, new Array(12).fill(1));
  assert.deepEqual(encoding.specialTokensMask, [1, ...new Array(10).fill(0), 1]);
  assert.deepEqual(bert.encode('Café, 你好 dog').tokens, ['[CLS]', 'cafe', ',', '你', '好', '[UNK]', '[SEP]']);
});

test('pairs: [CLS] A [SEP] B [SEP] with token-type ids 0… then 1…', () => {
  const encoding = tinyBert().encode('the cat', 'it sat');
  assert.deepEqual(encoding.tokens, ['[CLS]', 'the', 'cat', '[SEP]', 'it', 'sat', '[SEP]']);
  assert.deepEqual(encoding.typeIds, [0, 0, 0, 0, 1, 1, 1]);
  const plain = tinyBert().encode('the cat', 'it sat', { addSpecialTokens: false });
  assert.deepEqual(plain.tokens, ['the', 'cat', 'it', 'sat']);
  assert.deepEqual(plain.typeIds, [0, 0, 1, 1]);
});

test('truncation leaves room for special tokens; longest_first takes from the longer sequence', () => {
  const bert = tinyBert().enableTruncation(6);
  assert.deepEqual(bert.encode('the cat sat on the mat').tokens, ['[CLS]', 'the', 'cat', 'sat', 'on', '[SEP]']);
  assert.deepEqual(bert.encode('the cat sat on the mat', 'it sat').tokens, ['[CLS]', 'the', 'cat', '[SEP]', 'it', '[SEP]']);
  bert.enableTruncation(7, { strategy: 'only_second' });
  assert.deepEqual(bert.encode('the cat', 'it sat on the mat').tokens, ['[CLS]', 'the', 'cat', '[SEP]', 'it', 'sat', '[SEP]']);
  bert.enableTruncation(4, { direction: 'left' });
  assert.deepEqual(bert.encode('the cat sat on').tokens, ['[CLS]', 'sat', 'on', '[SEP]']);
  assert.throws(() => bert.enableTruncation(0), QkvValueError);
});

test('padding: to a fixed length or the longest of a batch, attention mask 0 on padding', () => {
  const bert = tinyBert().enablePadding();
  const batch = bert.encodeBatch(['the cat', 'the cat sat on the mat', ['it', 'sat']]);
  assert.deepEqual(batch.map((e) => e.ids.length), [8, 8, 8]);
  assert.deepEqual(batch[0].attentionMask, [1, 1, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(batch[0].ids.slice(4), [0, 0, 0, 0]);
  assert.deepEqual(batch[0].tokens.slice(4), ['[PAD]', '[PAD]', '[PAD]', '[PAD]']);
  assert.deepEqual(batch[2].typeIds, [0, 0, 0, 1, 1, 0, 0, 0]);
  bert.enablePadding({ length: 10, padToMultipleOf: 4 }).enableTruncation(10);
  const fixed = bert.encode('the cat sat on the mat the cat sat on the mat');
  assert.equal(fixed.ids.length, 12); // truncated to 10, padded up to a multiple of 4
  assert.deepEqual(fixed.attentionMask, [...new Array(10).fill(1), 0, 0]);
  const left = tinyBert().enablePadding({ length: 5, direction: 'left' }).encode('cat');
  assert.deepEqual(left.tokens, ['[PAD]', '[PAD]', '[CLS]', 'cat', '[SEP]']);
  assert.throws(() => tinyBert().enablePadding({ padToken: '<pad>' }), /pad token "<pad>" is not in the vocabulary/);
});

test('added tokens in raw text are matched first, never normalised or split', () => {
  const bert = tinyBert();
  assert.deepEqual(bert.encode('the [MASK] sat', null, { addSpecialTokens: false }).tokens, ['the', '[MASK]', 'sat']);
  // "[cat]" is no added token: normalised and split into "[", "cat", "]".
  assert.deepEqual(bert.encode('[CAT]', null, { addSpecialTokens: false }).tokens, ['[UNK]', 'cat', '[UNK]']);
});

test('decode joins ## pieces, cleans punctuation spacing, skips special tokens on request', () => {
  const bert = tinyBert();
  const ids = bert.encode('The cat is unaffable, is it?').ids;
  assert.equal(bert.decode(ids), '[CLS] the cat is unaffable, is it? [SEP]');
  assert.equal(bert.decode(ids, { skipSpecialTokens: true }), 'the cat is unaffable, is it?');
  assert.throws(() => bert.decode([999]), QkvValueError);
});

test('encodeIds equals encode().ids without special tokens; the word cache changes nothing', () => {
  const gpt2 = loadGpt2Tokenizer();
  const text = 'the the the cat, the cat!';
  const first = gpt2.encodeIds(text);
  assert.deepEqual(gpt2.encodeIds(text), first);
  gpt2.clearCache();
  assert.deepEqual(gpt2.encode(text).ids, first);
  assert.deepEqual(gpt2.preTokenize('Hi there<|endoftext|>x'), ['Hi', ' there', 'x']);
});
