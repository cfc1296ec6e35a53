import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { bm25Terms } from '../../src/rag/bm25.ts';
import { makeBrownEval, STOPWORDS } from '../../src/rag/brown-eval.ts';
import { evalLikePair, inBatchNegativesLoss, pairAround, splitSentences, trainContrastive } from '../../src/rag/contrastive.ts';
import { BertModel } from '../../src/models/bert.ts';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

test('in-batch negatives loss: equals the hand formula and passes gradcheck', () => {
  // B = 2, C = 2: S = a·pᵀ/τ; loss = ½ (CE rows + CE columns) with the diagonal as targets.
  const a = Tensor.from([1, 0, 0.6, 0.8], [2, 2], { dtype: 'float64' });
  const p = Tensor.from([0.8, 0.6, 0, 1], [2, 2], { dtype: 'float64' });
  const tau = 0.5;
  const S = [[1.6, 0], [1.92, 1.6]]; // (a·pᵀ)/τ
  const ce = (row: number[], target: number) => Math.log(row.reduce((sum, x) => sum + Math.exp(x), 0)) - row[target];
  const expected = 0.5 * ((ce(S[0], 0) + ce(S[1], 1)) / 2 + (ce([S[0][0], S[1][0]], 0) + ce([S[0][1], S[1][1]], 1)) / 2);
  assert.ok(Math.abs(inBatchNegativesLoss(a, p, tau).item() - expected) < 1e-12);
  const rng = new Rng(4);
  gradcheck('inBatchNegativesLoss', (x, y) => inBatchNegativesLoss(x, y, 0.1), [
    Tensor.randn([3, 4], { dtype: 'float64', requiresGrad: true, rng }),
    Tensor.randn([3, 4], { dtype: 'float64', requiresGrad: true, rng }),
  ]);
});

test('pairs: the anchor uses words of one sentence; the positive is its neighbourhood without it', () => {
  const sentences = splitSentences('The cat sat on the mat today. Dogs barked loudly all night long. Birds sang their songs at dawn. Fish swam in the clear pond.');
  assert.equal(sentences.length, 4);
  const pair = pairAround(sentences, 1, new Rng(1))!;
  assert.ok(!pair.positive.includes('Dogs barked'));
  assert.ok(pair.positive.includes('The cat sat') && pair.positive.includes('Birds sang'));
  for (const word of pair.anchor.split(' ')) assert.ok(sentences[1].toLowerCase().includes(word), word);
});

test('contrastive training: the loss falls well below chance on a tiny corpus', () => {
  const topics = ['cat kitten purr whiskers milk mouse', 'ship sail ocean harbour anchor wave', 'bread flour yeast oven dough bake', 'star planet orbit telescope comet moon'];
  const rng = new Rng(2);
  const documents = topics.map((topic) => {
    const words = topic.split(' ');
    return Array.from({ length: 8 }, () => `${Array.from({ length: 7 }, () => words[rng.randint(words.length)]).join(' ')}.`).join(' ');
  });
  const tokenizer = trainWordPiece(documents, { vocabSize: 80 });
  const model = new BertModel({ vocab_size: tokenizer.vocabSize, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64 }, { rng: new Rng(3) });
  const summary = trainContrastive({ model, tokenizer, documents, steps: 40, batchSize: 4, lr: 3e-3, maxLength: 48, seed: 1 });
  assert.ok(Math.abs(summary.chanceLoss - Math.log(4)) < 1e-12);
  assert.ok(summary.finalMeanLoss < 0.5 * summary.chanceLoss, `final ${summary.finalMeanLoss} vs chance ${summary.chanceLoss}`);
});

test('eval-like pairs: anchor words are content words of the sentence, at most 40% of them found elsewhere in the document', () => {
  const text = readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8').split(/\n\s*\n/)[0];
  const sentences = splitSentences(text);
  const rng = new Rng(5);
  let made = 0;
  for (let index = 0; index < sentences.length; index++) {
    const pair = evalLikePair(sentences, index, rng);
    if (pair === null) continue;
    made++;
    const own = new Set(bm25Terms(sentences[index]));
    const rest = new Set(sentences.filter((_, i) => i !== index).flatMap(bm25Terms));
    const words = pair.anchor.split(' ');
    assert.ok(words.length >= 4 && words.length <= 8, pair.anchor);
    for (const word of words) assert.ok(own.has(word) && !STOPWORDS.has(word) && word.length >= 3, word);
    assert.ok(words.filter((word) => rest.has(word)).length <= 0.4 * words.length, pair.anchor);
    assert.ok(!pair.positive.includes(sentences[index]), 'the sentence itself is left out of its positive');
  }
  assert.ok(made >= 10, `only ${made} pairs from ${sentences.length} sentences`);
});

test('training data stays disjoint from the eval: no held-out sentence, and no query, reaches a training pair', () => {
  const set = makeBrownEval({ brownText: readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8'), documents: 40, seed: 7 });
  assert.equal(set.heldOutSentences.length, set.queries.length);
  const trainingText = set.documents.map((document) => document.text);
  const normalise = (text: string) => text.replace(/\s+/g, ' ');
  for (const sentence of set.heldOutSentences) {
    for (const text of trainingText) assert.ok(!normalise(text).includes(normalise(sentence)), `held-out sentence found in a training document: ${sentence}`);
  }
  // Every anchor the trainer can draw comes from a training sentence; none equals an eval query.
  const queries = new Set(set.queries.map((query) => query.query));
  const rng = new Rng(8);
  for (const text of trainingText.slice(0, 60)) {
    const sentences = splitSentences(text);
    for (let index = 0; index < sentences.length; index += 3) {
      const pair = evalLikePair(sentences, index, rng);
      if (pair === null) continue;
      assert.ok(!queries.has(pair.anchor), pair.anchor);
      const own = new Set(bm25Terms(sentences[index]));
      for (const word of pair.anchor.split(' ')) assert.ok(own.has(word), word);
    }
  }
});
