import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { charTokenizerFromAlphabet, trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { tokenizerFromJson, tokenizerToJson } from '../../src/tokenizers/tokenizer-json.ts';

test('one token per character, vocabulary in code-point order after <unk>', () => {
  const chars = trainCharTokenizer('hello world\n');
  assert.deepEqual([...Array(chars.vocabSize).keys()].map((id) => chars.idToToken(id)), ['<unk>', '\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
  assert.deepEqual(chars.encodeIds('hold'), [5, 7, 6, 3]);
  assert.equal(chars.decode(chars.encodeIds('hello world\n')), 'hello world\n');
});

test('unseen characters become <unk>, or throw without an unk token', () => {
  const chars = trainCharTokenizer('abc');
  assert.deepEqual(chars.encode('abz').tokens, ['a', 'b', '<unk>']);
  const strict = trainCharTokenizer('abc', { unkToken: null });
  assert.throws(() => strict.encodeIds('abz'), QkvValueError);
});

test('special tokens come first and are never split; emoji and CJK are single tokens', () => {
  const chars = trainCharTokenizer(['你好🎉', 'ab'], { specialTokens: ['<|endoftext|>'] });
  assert.equal(chars.tokenToId('<|endoftext|>'), 0);
  assert.deepEqual(chars.encode('a<|endoftext|>🎉').tokens, ['a', '<|endoftext|>', '🎉']);
  assert.deepEqual(charTokenizerFromAlphabet(['b', 'a', 'a'], { unkToken: null }).encodeIds('ab'), [0, 1]);
});

test('saved as BPE without merges and a Fuse decoder, which Hugging Face loads with the same ids', () => {
  const chars = trainCharTokenizer('To be, or not to be: 你好 🎉\n');
  const json = tokenizerToJson(chars);
  assert.deepEqual((json.model as { merges: unknown[] }).merges, []);
  assert.deepEqual(json.decoder, { type: 'Fuse' });
  const hf = new HfTokenizer(json, {});
  const text = 'not to be 你 🎉 zebra\n';
  assert.deepEqual(hf.encode(text).ids, chars.encodeIds(text));
  assert.deepEqual(tokenizerFromJson(json).encodeIds(text), chars.encodeIds(text));
});
