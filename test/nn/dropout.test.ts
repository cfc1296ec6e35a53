import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dropout } from '../../src/nn/dropout.ts';
import { Sequential } from '../../src/nn/sequential.ts';
import { Linear } from '../../src/nn/linear.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const N = 20_000;

test('training: about p of the elements are zeroed, the rest scaled by 1/(1−p)', () => {
  const p = 0.3;
  const y = new Dropout(p, { rng: new Rng(1) }).forward(Tensor.ones([N])).toArray();
  const zeros = y.filter((v) => v === 0).length;
  // Binomial(N, p): standard deviation √(N·p·(1−p)) ≈ 65; allow 5 of them.
  assert.ok(Math.abs(zeros - N * p) < 5 * Math.sqrt(N * p * (1 - p)), `${zeros} zeros of ${N}, expected about ${N * p}`);
  const scale = 1 / (1 - p);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - scale) < 1e-6), 'survivors are scaled by 1/(1−p)');
});

test('eval mode is the identity; train() turns dropout back on', () => {
  const dropout = new Dropout(0.5, { rng: new Rng(2) });
  const x = Tensor.ones([100]);
  dropout.eval();
  assert.deepEqual(dropout.forward(x).toArray(), x.toArray());
  dropout.train();
  assert.ok(dropout.forward(x).toArray().some((v) => v === 0));
});

test('eval() on a parent switches off a nested Dropout', () => {
  const model = new Sequential(new Linear(4, 4, { rng: new Rng(3) }), new Dropout(0.5, { rng: new Rng(4) }));
  const x = Tensor.ones([8, 4]);
  model.eval();
  const first = model.forward(x).toArray();
  assert.deepEqual(model.forward(x).toArray(), first, 'eval is deterministic');
  model.train();
  assert.notDeepEqual(model.forward(x).toArray(), first, 'training drops elements');
});

test('the same seed gives the same mask', () => {
  const x = Tensor.ones([64]);
  const a = new Dropout(0.5, { rng: new Rng(5) }).forward(x).toArray();
  const b = new Dropout(0.5, { rng: new Rng(5) }).forward(x).toArray();
  assert.deepEqual(a, b);
});

test('p = 0 is the identity and p outside [0, 1] is an error', () => {
  const x = Tensor.from([1, 2, 3]);
  assert.deepEqual(new Dropout(0).forward(x).toArray(), [1, 2, 3]);
  assert.throws(() => new Dropout(1.5), (e: Error) => e instanceof QkvValueError && /p must be in \[0, 1\], got 1.5/.test(e.message));
  assert.throws(() => new Dropout(-0.1), QkvValueError);
});
