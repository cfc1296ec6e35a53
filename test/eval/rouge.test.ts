import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lcsLength, rougeCorpus, rougeScores, rougeTokenize } from '../../src/eval/rouge.ts';

const close = (actual: number, expected: number, label: string) => assert.ok(Math.abs(actual - expected) < 1e-12, `${label}: ${actual} vs ${expected}`);

test("rouge-score's tokenizer: lower-case, non-alphanumerics to spaces, no stemming", () => {
  assert.deepEqual(rougeTokenize('The Cat-sat, on the MAT!'), ['the', 'cat', 'sat', 'on', 'the', 'mat']);
  assert.deepEqual(rougeTokenize('running runs café'), ['running', 'runs', 'caf']); // no stemmer; é is not [a-z0-9]
  assert.deepEqual(rougeTokenize('  '), []);
});

test("rouge-score's README example: 'The quick brown fox jumps over the lazy dog' vs 'The quick brown dog jumps on the log.'", () => {
  // rouge_scorer.RougeScorer(['rouge1', 'rougeL']).score(target='The quick brown fox jumps over the lazy dog', prediction='The quick brown dog jumps on the log.')
  const scores = rougeScores('The quick brown dog jumps on the log.', 'The quick brown fox jumps over the lazy dog');
  // By hand: 8 prediction tokens, 9 target tokens; overlapping unigrams the, quick, brown, dog, jumps, the = 6.
  close(scores.rouge1.precision, 6 / 8, 'rouge1 P');
  close(scores.rouge1.recall, 6 / 9, 'rouge1 R');
  close(scores.rouge1.fmeasure, (2 * (6 / 8) * (6 / 9)) / (6 / 8 + 6 / 9), 'rouge1 F');
  // LCS: the quick brown jumps the = 5.
  close(scores.rougeL.precision, 5 / 8, 'rougeL P');
  close(scores.rougeL.recall, 5 / 9, 'rougeL R');
  // Bigrams: "the quick", "quick brown" = 2 of 7 and 8.
  close(scores.rouge2.precision, 2 / 7, 'rouge2 P');
  close(scores.rouge2.recall, 2 / 8, 'rouge2 R');
});

test('LCS by hand, empty sides, multi-reference takes the best F, corpus is the segment mean', () => {
  assert.equal(lcsLength(['a', 'b', 'c', 'b', 'd', 'a', 'b'], ['b', 'd', 'c', 'a', 'b', 'a']), 4); // CLRS example: BCBA
  assert.deepEqual(rougeScores('', 'a b').rougeL, { precision: 0, recall: 0, fmeasure: 0 });
  assert.deepEqual(rougeScores('x', 'a b').rouge1, { precision: 0, recall: 0, fmeasure: 0 });
  assert.equal(rougeScores('a b', ['x y', 'a b']).rougeL.fmeasure, 1);
  const corpus = rougeCorpus(['a b', 'x'], ['a b', 'a']);
  assert.equal(corpus.rougeL.fmeasure, 0.5);
  assert.throws(() => rougeCorpus(['a'], []), /1 hypotheses but 0 references/);
});
