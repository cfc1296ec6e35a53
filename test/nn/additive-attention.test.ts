import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdditiveAttention } from '../../src/nn/additive-attention.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { Rng } from '../../src/tensor/random.ts';

const close = (actual: number, expected: number, label: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${label}: ${actual} vs ${expected}`);

const module = (queryDim: number, keyDim: number, hiddenDim: number, seed = 1) =>
  new AdditiveAttention({ queryDim, keyDim, hiddenDim, rng: new Rng(seed), dtype: 'float64' });

test('score vᵀ·tanh(W_q q + W_k k) on a 1-D example worked by hand', () => {
  // Dq = Dk = H = 1: W_q = 2, W_k = −1, v = 3. q = 0.5; keys 1 and −1; values 10 and 20.
  const attention = module(1, 1, 1);
  noGrad(() => {
    attention.W_q.weight.data[0] = 2;
    attention.W_k.weight.data[0] = -1;
    attention.v.weight.data[0] = 3;
  });
  const q = Tensor.from([0.5], [1, 1, 1], { dtype: 'float64' });
  const k = Tensor.from([1, -1], [1, 2, 1], { dtype: 'float64' });
  const values = Tensor.from([10, 20], [1, 2, 1], { dtype: 'float64' });
  const s0 = 3 * Math.tanh(2 * 0.5 - 1 * 1); // 0
  const s1 = 3 * Math.tanh(2 * 0.5 - 1 * -1); // 3·tanh 2
  const w0 = Math.exp(s0) / (Math.exp(s0) + Math.exp(s1));
  const { output, weights } = attention.forward(q, k, values, { returnWeights: true });
  close(attention.scores(q, k).get(0, 0, 0, 1), s1, 'score of key 1');
  close(weights!.get(0, 0, 0), w0, 'weight of key 0');
  close(output.get(0, 0, 0), w0 * 10 + (1 - w0) * 20, 'output');
});

test('additive attention matches the formula per (query, key) pair, with Tq ≠ Tk and separate values', () => {
  const attention = module(3, 5, 4);
  const rng = new Rng(2);
  const q = Tensor.randn([2, 3, 3], { rng, dtype: 'float64' });
  const k = Tensor.randn([2, 4, 5], { rng, dtype: 'float64' });
  const values = Tensor.randn([2, 4, 6], { rng, dtype: 'float64' });
  const { output, weights } = attention.forward(q, k, values, { returnWeights: true });
  assert.deepEqual(output.shape, [2, 3, 6]);
  const Wq = attention.W_q.weight;
  const Wk = attention.W_k.weight;
  const v = attention.v.weight;
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 3; i++) {
      const scores = [0, 1, 2, 3].map((j) => {
        let score = 0;
        for (let h = 0; h < 4; h++) {
          let hidden = 0;
          for (let d = 0; d < 3; d++) hidden += Wq.get(h, d) * q.get(b, i, d);
          for (let d = 0; d < 5; d++) hidden += Wk.get(h, d) * k.get(b, j, d);
          score += v.get(0, h) * Math.tanh(hidden);
        }
        return score;
      });
      const total = scores.reduce((sum, s) => sum + Math.exp(s), 0);
      for (let j = 0; j < 4; j++) close(weights!.get(b, i, j), Math.exp(scores[j]) / total, `weight (${b},${i},${j})`);
      for (let d = 0; d < 6; d++) {
        const expected = [0, 1, 2, 3].reduce((sum, j) => sum + (Math.exp(scores[j]) / total) * values.get(b, j, d), 0);
        close(output.get(b, i, d), expected, `output (${b},${i},${d})`);
      }
    }
  }
});

test('masks: padded keys get exactly 0, a fully padded row gives zeros (no NaN), causal rows ignore the future', () => {
  const attention = module(4, 4, 8);
  const rng = new Rng(3);
  const x = Tensor.randn([2, 5, 4], { rng, dtype: 'float64' });
  const keep = Tensor.from([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0]], undefined, { dtype: 'float64' });
  const padded = attention.forward(x, x, x, { keyPaddingMask: keep, returnWeights: true });
  for (let i = 0; i < 5; i++) {
    assert.equal(padded.weights!.get(0, i, 3), 0);
    assert.equal(padded.weights!.get(0, i, 4), 0);
    for (let d = 0; d < 4; d++) assert.equal(padded.output.get(1, i, d), 0);
  }
  assert.ok(padded.output.toArray().every(Number.isFinite));
  const causal = attention.forward(x, x, x, { causal: true, returnWeights: true });
  for (let i = 0; i < 5; i++) for (let j = i + 1; j < 5; j++) assert.equal(causal.weights!.get(0, i, j), 0);
  const changed = x.contiguousCopy();
  for (let d = 0; d < 4; d++) changed.data[3 * 4 + d] += 1; // batch 0, position 3
  const after = attention.forward(changed, changed, changed, { causal: true });
  for (let i = 0; i < 3; i++) for (let d = 0; d < 4; d++) assert.equal(after.output.get(0, i, d), causal.output.get(0, i, d));
});

test('additive attention gradients match finite differences (inputs and W_q, W_k, v)', () => {
  const attention = module(3, 2, 4, 5);
  const rng = new Rng(6);
  const q = Tensor.randn([2, 2, 3], { rng, dtype: 'float64', requiresGrad: true });
  const k = Tensor.randn([2, 3, 2], { rng, dtype: 'float64', requiresGrad: true });
  const values = Tensor.randn([2, 3, 2], { rng, dtype: 'float64', requiresGrad: true });
  const keep = Tensor.from([[1, 1, 0], [1, 1, 1]], undefined, { dtype: 'float64' });
  gradcheck('additive attention', () => attention.forward(q, k, values, { keyPaddingMask: keep }).output, [q, k, values, ...attention.parameters()]);
  gradcheck('additive attention (causal)', () => attention.forward(q, k, values, { causal: true }).output, [q, k, values]);
});

test('shape errors name what was expected', () => {
  const attention = module(3, 2, 4);
  assert.throws(() => attention.forward(Tensor.zeros([1, 2, 4]), Tensor.zeros([1, 3, 2])), /expected queries \(B,Tq,3\), keys \(B,Tk,2\)/);
});
