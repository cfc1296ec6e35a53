import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenDataset, unigramCrossEntropy } from '../../src/train/data.ts';
import { Rng } from '../../src/tensor/random.ts';

test('split keeps the tail for validation and batches are shifted windows', () => {
  const tokens = Array.from({ length: 100 }, (_, i) => i);
  const data = new TokenDataset(tokens, 0.2);
  assert.equal(data.train.length, 80);
  assert.equal(data.validation[0], 80);
  const { ids, targets } = data.sampleBatch('train', 3, 5, new Rng(1));
  assert.deepEqual(ids.shape, [3, 5]);
  for (let b = 0; b < 3; b++) {
    for (let t = 0; t < 5; t++) assert.equal(targets.get(b, t), ids.get(b, t) + 1);
    assert.ok(ids.get(b, 4) + 1 < 80, 'a training window stays inside the training split');
  }
});

test('same seed, same batches', () => {
  const data = new TokenDataset(Array.from({ length: 50 }, (_, i) => i % 7), 0.1);
  const a = data.sampleBatch('train', 2, 4, new Rng(3)).ids.toArray();
  const b = data.sampleBatch('train', 2, 4, new Rng(3)).ids.toArray();
  assert.deepEqual(a, b);
});

test('a split too short for one window is a named error', () => {
  const data = new TokenDataset([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.1);
  assert.throws(() => data.sampleBatch('validation', 1, 4, new Rng(1)), /validation split has 1 tokens, fewer than block size \+ 1 = 5/);
});

test('unigram cross-entropy by hand', () => {
  // train counts with add-one over V = 2: token 0 → 3+1, token 1 → 1+1, total 6.
  const loss = unigramCrossEntropy([0, 0, 0, 1], [0, 1], 2);
  assert.ok(Math.abs(loss - -(Math.log(4 / 6) + Math.log(2 / 6)) / 2) < 1e-12);
});
