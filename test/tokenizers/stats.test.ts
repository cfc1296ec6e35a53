import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { loadGpt2Tokenizer } from '../../src/tokenizers/gpt2.ts';
import { bytesPerToken, outOfVocabularyRate, unknownWordRate, wordLevelVocabulary } from '../../src/tokenizers/stats.ts';
import { tinyBert } from './bert-fixture.ts';

test('bytes per token counts UTF-8 bytes', () => {
  assert.equal(bytesPerToken(trainCharTokenizer('aé'), 'aé'), 1.5);
  assert.equal(bytesPerToken(loadGpt2Tokenizer(), 'Hello world'), 11 / 2);
  assert.equal(bytesPerToken(trainCharTokenizer('a'), ''), 0);
});

test('word-level vocabulary and its out-of-vocabulary rate', () => {
  const vocabulary = wordLevelVocabulary(['a', 'b', 'a', 'c', 'a', 'b'], 2);
  assert.deepEqual([...vocabulary], ['a', 'b']);
  assert.equal(outOfVocabularyRate(['a', 'c', 'd', 'b'], vocabulary), 0.5);
  assert.equal(outOfVocabularyRate([], vocabulary), 0);
});

test('unknown-word rate counts words that a subword tokenizer encodes with [UNK]', () => {
  assert.equal(unknownWordRate(tinyBert(), 'the cat sat on the dog'), 1 / 6);
  assert.equal(unknownWordRate(loadGpt2Tokenizer(), 'anything at all'), 0);
});
