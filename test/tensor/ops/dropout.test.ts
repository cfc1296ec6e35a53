import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng, manualSeed } from '../../../src/tensor/random.ts';
import { QkvValueError } from '../../../src/tensor/errors.ts';
import { dropout } from '../../../src/tensor/ops/dropout.ts';

test('identity when not training or p = 0', () => {
  const x = Tensor.randn([4, 5], { rng: new Rng(1) });
  assert.equal(dropout(x, 0.5, { training: false }), x);
  assert.equal(dropout(x, 0, { training: true }), x);
});

test('same seed gives the same mask; another seed another mask', () => {
  const x = Tensor.ones([1000]);
  const first = dropout(x, 0.5, { training: true, rng: new Rng(42) }).toArray();
  const again = dropout(x, 0.5, { training: true, rng: new Rng(42) }).toArray();
  const other = dropout(x, 0.5, { training: true, rng: new Rng(43) }).toArray();
  assert.deepEqual(first, again);
  assert.notDeepEqual(first, other);
  // without an rng the global generator is used, reset by manualSeed
  manualSeed(7);
  const global = dropout(x, 0.5, { training: true }).toArray();
  manualSeed(7);
  assert.deepEqual(dropout(x, 0.5, { training: true }).toArray(), global);
});

test('kept values are scaled by 1/(1 − p); the mean is preserved in expectation', () => {
  const p = 0.3;
  const size = 100_000;
  const y = dropout(Tensor.ones([size], { dtype: 'float64' }), p, { training: true, rng: new Rng(5) }).toArray();
  let zeros = 0;
  let total = 0;
  for (const v of y) {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - 1 / (1 - p)) < 1e-12, `kept value ${v}`);
    total += v;
  }
  // Each output is 0 or 1/0.7 with mean 1 and std √(p/(1−p)) ≈ 0.65, so the mean of 1e5 has
  // std ≈ 0.0021 and the zero fraction std ≈ 0.0015: 0.01 is about 5σ for both.
  assert.ok(Math.abs(total / size - 1) < 0.01, `mean ${total / size} should be 1 ± 0.01`);
  assert.ok(Math.abs(zeros / size - p) < 0.01, `zero fraction ${zeros / size} should be ${p} ± 0.01`);
});

test('p = 1 gives zeros and zero gradient', () => {
  const x = Tensor.randn([3, 4], { rng: new Rng(2), requiresGrad: true });
  const y = dropout(x, 1, { training: true, rng: new Rng(0) });
  assert.ok(y.toArray().every((v) => v === 0));
  y.backward({ gradient: Tensor.ones([3, 4]) });
  assert.ok(x.grad!.toArray().every((v) => v === 0));
});

test('backward uses the forward mask', () => {
  const x = Tensor.ones([200], { requiresGrad: true });
  const y = dropout(x, 0.4, { training: true, rng: new Rng(9) });
  y.backward({ gradient: Tensor.ones([200]) });
  assert.deepEqual(x.grad!.toArray(), y.toArray());
  // and a gradient check with the mask pinned by a fresh generator per call
  gradcheck('dropout', (t) => dropout(t, 0.4, { training: true, rng: new Rng(3) }), [
    Tensor.randn([3, 7], { dtype: 'float64', rng: new Rng(4), requiresGrad: true }),
  ]);
});

test('p outside [0, 1] is a QkvValueError, training or not', () => {
  for (const p of [-0.1, 1.5, NaN]) {
    assert.throws(() => dropout(Tensor.ones([2]), p, { training: true }), QkvValueError);
    assert.throws(() => dropout(Tensor.ones([2]), p, { training: false }), QkvValueError);
  }
});
