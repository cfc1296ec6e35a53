import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BertModel } from '../../src/models/bert.ts';
import { embedTexts } from '../../src/models/bert-embed.ts';
import { createLsaBert, lsaWordVectors, topEigenvectors } from '../../src/rag/lsa-init.ts';
import { symmetricEigen } from '../../src/rag/symmetric-eigen.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.ts';

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
  return a;
}

test('symmetricEigen: A v = λ v for every pair, values descending, vectors orthonormal', () => {
  const n = 12;
  const a = randomSymmetric(n, 3);
  const { values, vectors } = symmetricEigen(a, n);
  for (let j = 0; j < n; j++) {
    if (j > 0) assert.ok(values[j] <= values[j - 1]);
    for (let r = 0; r < n; r++) {
      let av = 0;
      for (let c = 0; c < n; c++) av += a[r * n + c] * vectors[c * n + j];
      assert.ok(Math.abs(av - values[j] * vectors[r * n + j]) < 1e-9);
    }
    for (let i = 0; i <= j; i++) {
      let dot = 0;
      for (let r = 0; r < n; r++) dot += vectors[r * n + i] * vectors[r * n + j];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-9);
    }
  }
});

test('topEigenvectors (range finder + Rayleigh–Ritz) finds the top pairs of a Gram matrix that Jacobi finds', () => {
  const n = 40;
  const rng = new Rng(5);
  const x = Float64Array.from({ length: n * 8 }, () => rng.normal()); // rank-8 Gram matrix plus a little noise
  const gram = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let dot = i === j ? 0.01 : 0;
    for (let c = 0; c < 8; c++) dot += x[i * 8 + c] * x[j * 8 + c];
    gram[i * n + j] = dot;
  }
  const exact = symmetricEigen(Float64Array.from(gram), n);
  const found = topEigenvectors(gram, n, 5, 4, new Rng(1));
  for (let j = 0; j < 5; j++) {
    assert.ok(Math.abs(found.values[j] - exact.values[j]) < 1e-3 * exact.values[0], `value ${j}`);
    let dot = 0;
    for (let r = 0; r < n; r++) dot += found.vectors[r * 5 + j] * exact.vectors[r * n + j];
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-3, `vector ${j}: |cos| ${Math.abs(dot)}`);
  }
});

const pets = ['the cat chased the mouse and the kitten slept', 'a dog and a puppy played with the cat', 'the kitten and the puppy ate', 'my dog barked at the cat'];
const money = ['the bank raised rates and bonds fell', 'stocks and bonds traded at the bank', 'the market sold stocks today', 'rates moved the market and stocks'];

test('LSA word vectors: words of one topic are closer than words across topics, even words that never share a document', () => {
  const documents = [...pets, ...money];
  const tokenizer = trainWordPiece(documents, { vocabSize: 300, minFrequency: 1 });
  const lsa = lsaWordVectors(tokenizer, documents, { dim: 2 }); // two topics: the top two components carry them
  const vector = (word: string): Float32Array => {
    const id = tokenizer.tokenToId(word);
    assert.ok(id !== undefined, word);
    return lsa.vectors.subarray(id * 2, (id + 1) * 2);
  };
  const cos = (a: Float32Array, b: Float32Array): number => {
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) [ab, aa, bb] = [ab + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i]];
    return ab / Math.sqrt(aa * bb);
  };
  // "mouse" and "barked" never occur together; both co-occur with "cat".
  assert.ok(cos(vector('mouse'), vector('barked')) > cos(vector('mouse'), vector('bonds')));
  assert.ok(cos(vector('stocks'), vector('rates')) > cos(vector('stocks'), vector('puppy')));
});

test('createLsaBert: the new BERT embeds a text as the mean of its tokens\' LayerNorm-ed LSA rows (the layers pass through)', async () => {
  const documents = [...pets, ...money];
  const { model, tokenizer } = createLsaBert(documents, { vocabSize: 200, hiddenSize: 16, heads: 2, layers: 2, skipComponents: 0 });
  assert.ok(model instanceof BertModel);
  const text = 'the kitten chased stocks';
  const [embedded] = await embedTexts(model, tokenizer, [text], { maxLength: 32 });
  // Independently: CLS and SEP rows are zero, so the mean over the real tokens is Σ rows / (n + 2).
  const C = 16;
  const table = model.embeddings.word_embeddings.weight.data as Float32Array;
  const ids = tokenizer.encode(text).ids;
  const expected = new Float64Array(C);
  for (const id of ids) {
    const row = table.subarray(id * C, (id + 1) * C);
    const mean = row.reduce((a, b) => a + b, 0) / C;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / C;
    for (let c = 0; c < C; c++) expected[c] += variance > 0 ? (row[c] - mean) / Math.sqrt(variance + 1e-12) : 0;
  }
  const norm = Math.hypot(...expected);
  for (let c = 0; c < C; c++) assert.ok(Math.abs(embedded[c] - expected[c] / norm) < 1e-4, `component ${c}: ${embedded[c]} vs ${expected[c] / norm}`);
});

test('lsaWordVectors components: keeps the leading components (same as the full run, up to sign) and zeros the rest', () => {
  const documents = [...pets, ...money];
  const tokenizer = trainWordPiece(documents, { vocabSize: 300, minFrequency: 1 });
  const full = lsaWordVectors(tokenizer, documents, { dim: 4 });
  const two = lsaWordVectors(tokenizer, documents, { dim: 4, components: 2 });
  assert.equal(two.singularValues.length, 2);
  for (let j = 0; j < 2; j++) {
    assert.ok(Math.abs(two.singularValues[j] - full.singularValues[j]) < 1e-4 * full.singularValues[0], `singular value ${j}`);
    let dot = 0, aa = 0, bb = 0;
    for (let t = 0; t < tokenizer.vocabSize; t++) [dot, aa, bb] = [dot + two.vectors[t * 4 + j] * full.vectors[t * 4 + j], aa + two.vectors[t * 4 + j] ** 2, bb + full.vectors[t * 4 + j] ** 2];
    assert.ok(Math.abs(Math.abs(dot) / Math.sqrt(aa * bb) - 1) < 1e-3, `column ${j}: |cos| ${Math.abs(dot) / Math.sqrt(aa * bb)}`);
  }
  for (let t = 0; t < tokenizer.vocabSize; t++) assert.deepEqual([two.vectors[t * 4 + 2], two.vectors[t * 4 + 3]], [0, 0]);
  assert.throws(() => lsaWordVectors(tokenizer, documents, { dim: 4, components: 0 }), /components must be a positive integer/);
});
