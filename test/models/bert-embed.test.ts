import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BertModel, meanPool } from '../../src/models/bert.ts';
import { embedTexts } from '../../src/models/bert-embed.ts';
import { encodeBertBatch } from '../../src/models/bert-inputs.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { tinyBert } from '../tokenizers/bert-fixture.ts';

const tiny = { vocab_size: 26, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 };

test('embedTexts: unit vectors, the same for a text alone or padded in a batch, equal to mean pooling by hand', () => {
  const model = new BertModel(tiny, { rng: new Rng(1) });
  const tokenizer = tinyBert();
  const texts = ['the cat', 'the cat sat on the mat.', 'unaffable'];
  const batched = embedTexts(model, tokenizer, texts, { batchSize: 3 });
  const oneByOne = texts.map((text) => embedTexts(model, tokenizer, [text])[0]);
  assert.equal(batched.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(batched[i].length, 8);
    assert.ok(Math.abs(Math.hypot(...batched[i]) - 1) < 1e-5);
    for (let c = 0; c < 8; c++) assert.ok(Math.abs(batched[i][c] - oneByOne[i][c]) < 1e-5, `text ${i} channel ${c}`);
  }
  // By hand: 'the cat' is [CLS] the cat [SEP]: the mean of its 4 hidden states, normalised.
  const { ids } = encodeBertBatch(tokenizer, ['the cat'], 16);
  assert.deepEqual(ids.toArray(), [2, 5, 6, 3]);
  const hidden = noGrad(() => model.eval().forward(ids).lastHiddenState);
  const mean = Array.from({ length: 8 }, (_, c) => (hidden.get(0, 0, c) + hidden.get(0, 1, c) + hidden.get(0, 2, c) + hidden.get(0, 3, c)) / 4);
  const norm = Math.hypot(...mean);
  for (let c = 0; c < 8; c++) assert.ok(Math.abs(batched[0][c] - mean[c] / norm) < 1e-5);
  assert.equal(meanPool(hidden, ids.mul(0).add(1)).shape.join(','), '1,8');
  // The tokenizer's own settings are left as they were.
  assert.equal(tokenizer.padding, null);
  assert.equal(tokenizer.truncation, null);
  assert.throws(() => embedTexts(model, tokenizer, ['x'], { batchSize: 0 }), /batchSize must be a positive integer/);
});
