import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Embedding } from '../../src/nn/embedding.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

test('forward looks up rows: ids (B, T) → (B, T, C)', () => {
  const wte = new Embedding(4, 2);
  wte.loadStateDict({ weight: Tensor.from([[0, 1], [10, 11], [20, 21], [30, 31]]) });
  const out = wte.forward(Tensor.from([[3, 0], [1, 1]]));
  assert.deepEqual(out.shape, [2, 2, 2]);
  assert.deepEqual(out.tolist(), [[[30, 31], [0, 1]], [[10, 11], [10, 11]]]);
  assert.deepEqual(wte.forward([2]).tolist(), [[20, 21]]);
  assert.deepEqual(wte.forward(Int32Array.from([1, 3])).tolist(), [[10, 11], [30, 31]]);
});

test('the gradient of the table adds up over repeated ids (float64 gradcheck)', () => {
  const wte = new Embedding(5, 3, { dtype: 'float64', rng: new Rng(1) });
  const ids = Tensor.from([[0, 2, 2], [4, 0, 1]]);
  gradcheck('Embedding', () => wte.forward(ids), [wte.weight]);
  wte.zeroGrad();
  wte.forward(ids).sum().backward();
  // rows used: 0 twice, 1 once, 2 twice, 3 never, 4 once
  assert.deepEqual(wte.weight.grad?.tolist(), [[2, 2, 2], [1, 1, 1], [2, 2, 2], [0, 0, 0], [1, 1, 1]]);
});

test('initialised N(0, 1), as PyTorch', () => {
  const values = new Embedding(1000, 50, { rng: new Rng(2) }).weight.toArray();
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
  // 50 000 draws: mean within 5/√N ≈ 0.022, variance within 3%
  assert.ok(Math.abs(mean) < 0.022, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.03, `variance ${variance}`);
});

test('out-of-range ids and bad sizes are errors', () => {
  const wte = new Embedding(4, 2);
  assert.throws(() => wte.forward([4]), /id 4 is out of range/);
  assert.throws(() => new Embedding(0, 2), QkvValueError);
  assert.throws(() => new Embedding(3, 1.5), QkvValueError);
});
