import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { outOfVocabularyRate, unknownWordRate, wordLevelVocabulary } from '../../src/tokenizers/stats.ts';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.ts';
import { heldOutText, trainingText } from './fixtures.ts';

const train = trainingText(200_000);
const held = heldOutText(50_000);
const VOCAB_SIZE = 3000;
const started = performance.now();
const wordpiece = trainWordPiece([train], { vocabSize: VOCAB_SIZE });
const trainMs = performance.now() - started;

test('BERT special tokens come first; the vocabulary reaches the size asked for', () => {
  assert.ok(trainMs < 10_000, `training took ${trainMs.toFixed(0)} ms`);
  assert.deepEqual([0, 1, 2, 3, 4].map((id) => wordpiece.idToToken(id)), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  assert.equal(wordpiece.vocabSize, VOCAB_SIZE);
});

test('encodes with ## continuations, [CLS] … [SEP], and decodes back to the normalised text', () => {
  const encoding = wordpiece.encode('The jury said it was unaffable.');
  assert.equal(encoding.tokens[0], '[CLS]');
  assert.equal(encoding.tokens.at(-1), '[SEP]');
  assert.ok(encoding.tokens.includes('the') && encoding.tokens.includes('jury'), encoding.tokens.join(' '));
  assert.ok(encoding.tokens.some((t) => t.startsWith('##')), encoding.tokens.join(' '));
  assert.equal(wordpiece.decode(encoding.ids, { skipSpecialTokens: true }), 'the jury said it was unaffable.');
});

test('a word-level vocabulary of the same size leaves far more held-out words out than WordPiece', (t) => {
  const trainWords = wordpiece.preTokenize(train);
  const heldWords = wordpiece.preTokenize(held);
  const wordVocabulary = wordLevelVocabulary(trainWords, VOCAB_SIZE);
  const wordOov = outOfVocabularyRate(heldWords, wordVocabulary);
  const subwordOov = unknownWordRate(wordpiece, held);
  const everyTrainingWord = new Set(trainWords);
  const unboundedOov = outOfVocabularyRate(heldWords, everyTrainingWord);
  t.diagnostic(
    `held-out OOV rate (${heldWords.length} words): word-level top-${VOCAB_SIZE} ${(100 * wordOov).toFixed(2)}%, ` +
      `word-level all ${everyTrainingWord.size} training words ${(100 * unboundedOov).toFixed(2)}%, WordPiece ${VOCAB_SIZE} ${(100 * subwordOov).toFixed(3)}% ([UNK] words)`,
  );
  assert.ok(wordOov > 0.05, `word-level OOV ${wordOov}`);
  assert.ok(subwordOov < 0.005, `WordPiece OOV ${subwordOov}`);
});

test('likelihood scoring merges pairs whose parts are rarely apart; frequency scoring the most frequent', () => {
  // "qu" always together (score 1/count), "th" often apart: likelihood merges q+u first.
  const corpus = 'quiz quip ' + 'the then that this '.repeat(3) + 'at it to ta';
  const likely = trainWordPiece([corpus], { vocabSize: 1000, minFrequency: 1000 }).vocabSize; // specials + alphabet
  const base = trainWordPiece([corpus], { vocabSize: likely + 1, minFrequency: 1, scoring: 'likelihood' });
  assert.equal(base.idToToken(likely), 'qu');
  const frequent = trainWordPiece([corpus], { vocabSize: likely + 1, minFrequency: 1, scoring: 'frequency' });
  assert.equal(frequent.idToToken(likely), 'th');
});

test('options: cased training keeps capitals; required special tokens are checked', () => {
  const cased = trainWordPiece(['Hello Hello World'], { vocabSize: 60, lowercase: false });
  assert.ok(cased.tokenToId('H') !== undefined && cased.tokenToId('h') === undefined);
  assert.throws(() => trainWordPiece(['x'], { vocabSize: 10, specialTokens: ['[PAD]'] }), QkvValueError);
});
