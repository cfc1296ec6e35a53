import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inBatchNegativesLoss, pairAround, splitSentences, trainContrastive } from '../../src/rag/contrastive.ts';
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
