import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scaledDotProductAttention, causalMask, repeatKeyValueHeads } from '../../src/nn/attention.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { Rng } from '../../src/tensor/random.ts';

const close = (actual: number, expected: number, label: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${label}: ${actual} vs ${expected}`);

test('2×2 example worked by hand, with and without 1/√d_k scaling', () => {
  // One head, hs = 2. q = [[1,0],[0,1]], k = [[1,0],[1,1]], v = [[1,2],[3,4]].
  const q = Tensor.from([1, 0, 0, 1], [1, 1, 2, 2]);
  const k = Tensor.from([1, 0, 1, 1], [1, 1, 2, 2]);
  const v = Tensor.from([1, 2, 3, 4], [1, 1, 2, 2]);
  // scores = q·kᵀ = [[1,1],[0,1]]; scaled by 1/√2.
  const s = 1 / Math.SQRT2;
  const w10 = Math.exp(0) / (Math.exp(0) + Math.exp(s)); // row 1: softmax([0, s])
  const scaled = scaledDotProductAttention(q, k, v, { returnWeights: true });
  close(scaled.weights!.get(0, 0, 0, 0), 0.5, 'row 0 equal scores');
  close(scaled.weights!.get(0, 0, 1, 0), w10, 'row 1 weight on key 0');
  close(scaled.output.get(0, 0, 1, 0), w10 * 1 + (1 - w10) * 3, 'row 1 output');
  const unscaled = scaledDotProductAttention(q, k, v, { scale: 1, returnWeights: true });
  const u10 = 1 / (1 + Math.E);
  close(unscaled.weights!.get(0, 0, 1, 0), u10, 'unscaled row 1 weight on key 0');
});

test('padded keys get exactly zero weight; a fully padded batch row gives zeros, not NaN', () => {
  const rng = new Rng(1);
  const q = Tensor.randn([2, 2, 3, 4], { rng });
  const k = Tensor.randn([2, 2, 5, 4], { rng });
  const v = Tensor.randn([2, 2, 5, 4], { rng });
  const keep = Tensor.from([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]]);
  const { output, weights } = scaledDotProductAttention(q, k, v, { keyPaddingMask: keep, returnWeights: true });
  for (let h = 0; h < 2; h++) {
    for (let i = 0; i < 3; i++) {
      assert.equal(weights!.get(0, h, i, 3), 0);
      assert.equal(weights!.get(0, h, i, 4), 0);
      for (let d = 0; d < 4; d++) assert.equal(output.get(1, h, i, d), 0);
    }
  }
  assert.ok(output.toArray().every(Number.isFinite));
});

test('causal mask follows the query offset (KV cache)', () => {
  assert.deepEqual(causalMask(2, 4, 2).toArray(), [0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(causalMask(3, 3, 0).toArray(), [0, 1, 1, 0, 0, 1, 0, 0, 0]);
});

test('gradients through causal, padded attention match finite differences', () => {
  const rng = new Rng(2);
  const make = (shape: number[]) => Tensor.randn(shape, { rng, dtype: 'float64', requiresGrad: true });
  const keep = Tensor.from([[1, 1, 0], [1, 1, 1]], undefined, { dtype: 'float64' });
  gradcheck('attention', (q, k, v) => scaledDotProductAttention(q, k, v, { causal: true, keyPaddingMask: keep }).output,
    [make([2, 1, 3, 2]), make([2, 1, 3, 2]), make([2, 1, 3, 2])]);
});

test('attentionBias is added to the scaled scores before the softmax, broadcast over batch and heads', () => {
  const rng = new Rng(3);
  const q = Tensor.randn([2, 3, 2, 4], { rng });
  const k = Tensor.randn([2, 3, 5, 4], { rng });
  const v = Tensor.randn([2, 3, 5, 4], { rng });
  const bias = Tensor.randn([1, 3, 2, 5], { rng });
  const { weights } = scaledDotProductAttention(q, k, v, { attentionBias: bias, returnWeights: true });
  for (const [b, h, i] of [[0, 0, 0], [1, 2, 1], [1, 1, 0]]) {
    const logits = [0, 1, 2, 3, 4].map((j) => {
      let score = 0;
      for (let d = 0; d < 4; d++) score += q.get(b, h, i, d) * k.get(b, h, j, d);
      return score / 2 + bias.get(0, h, i, j);
    });
    const top = Math.max(...logits);
    const total = logits.reduce((sum, s) => sum + Math.exp(s - top), 0);
    for (let j = 0; j < 5; j++) close(weights!.get(b, h, i, j), Math.exp(logits[j] - top) / total, `weight (${b},${h},${i},${j})`);
  }
  assert.throws(() => scaledDotProductAttention(q, k, v, { attentionBias: Tensor.zeros([1, 3, 2, 4]) }), /attentionBias must be \(B\|1, NH\|1, Tq, Tk\)/);
});

test('causal invariance: changing future keys and values does not change earlier outputs', () => {
  const rng = new Rng(4);
  const q = Tensor.randn([1, 2, 6, 4], { rng });
  const k = Tensor.randn([1, 2, 6, 4], { rng });
  const v = Tensor.randn([1, 2, 6, 4], { rng });
  const changedK = k.contiguousCopy();
  const changedV = v.contiguousCopy();
  for (let h = 0; h < 2; h++) for (let d = 0; d < 4; d++) {
    changedK.data[(h * 6 + 4) * 4 + d] += 3;
    changedV.data[(h * 6 + 4) * 4 + d] -= 2;
  }
  const a = scaledDotProductAttention(q, k, v, { causal: true }).output;
  const b = scaledDotProductAttention(q, changedK, changedV, { causal: true }).output;
  for (let h = 0; h < 2; h++) for (let t = 0; t < 4; t++) for (let d = 0; d < 4; d++) assert.equal(a.get(0, h, t, d), b.get(0, h, t, d));
  assert.notEqual(a.get(0, 0, 4, 0), b.get(0, 0, 4, 0));
});

test('repeatKeyValueHeads: output head h is input head ⌊h / nRep⌋ (HF repeat_kv), with gradients', () => {
  const x = Tensor.randn([2, 3, 4, 5], { rng: new Rng(5) });
  const repeated = repeatKeyValueHeads(x, 2);
  assert.deepEqual(repeated.shape, [2, 6, 4, 5]);
  for (let b = 0; b < 2; b++) for (let h = 0; h < 6; h++) for (let t = 0; t < 4; t++) {
    for (let d = 0; d < 5; d++) assert.equal(repeated.get(b, h, t, d), x.get(b, Math.floor(h / 2), t, d));
  }
  assert.equal(repeatKeyValueHeads(x, 1), x);
  assert.throws(() => repeatKeyValueHeads(x, 0), /nRep must be a positive integer/);
  gradcheck('repeatKeyValueHeads', (t) => repeatKeyValueHeads(t, 3), [Tensor.randn([1, 2, 2, 3], { rng: new Rng(6), dtype: 'float64', requiresGrad: true })]);
});

test('gradients with an attention bias and no scaling match finite differences', () => {
  const rng = new Rng(7);
  const make = (shape: number[]) => Tensor.randn(shape, { rng, dtype: 'float64', requiresGrad: true });
  gradcheck('attention+bias', (q, k, v, bias) => scaledDotProductAttention(q, k, v, { scale: 1, attentionBias: bias }).output,
    [make([1, 2, 3, 2]), make([1, 2, 4, 2]), make([1, 2, 4, 2]), make([1, 2, 3, 4])]);
});
