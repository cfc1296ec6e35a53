import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../src/tensor/tensor.ts';
import { noGrad, enableGrad, isGradEnabled } from '../../src/tensor/autograd.ts';
import { QkvError } from '../../src/tensor/errors.ts';


test('backward computes d(x·y + x)/dx = y + 1 and d/dy = x', () => {
  const x = Tensor.from([3], [1], { requiresGrad: true });
  const y = Tensor.from([4], [1], { requiresGrad: true });
  const z = x.mul(y).add(x);
  z.backward();
  assert.deepEqual(x.grad!.toArray(), [5]);
  assert.deepEqual(y.grad!.toArray(), [3]);
});

test('a tensor used twice gets both contributions (diamond graph)', () => {
  const x = Tensor.from([2], [1], { requiresGrad: true });
  const a = x.mul(x); // x²
  const b = x.exp(); // eˣ
  a.add(b).backward();
  assert.ok(Math.abs(x.grad!.item() - (2 * 2 + Math.exp(2))) < 1e-5);
});

test('gradients accumulate across backward calls until cleared', () => {
  const x = Tensor.from([1, 2], [2], { requiresGrad: true });
  const w = Tensor.from([3, 5], [2]);
  x.mul(w).backward({ gradient: Tensor.ones([2]) });
  x.mul(w).backward({ gradient: Tensor.ones([2]) });
  assert.deepEqual(x.grad!.toArray(), [6, 10]);
});

test('noGrad records nothing; enableGrad turns it back on inside', () => {
  const x = Tensor.from([1], [1], { requiresGrad: true });
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    const inner = enableGrad(() => x.mul(2));
    assert.equal(inner.requiresGrad, true);
    return x.mul(2);
  });
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  assert.equal(isGradEnabled(), true);
});

test('detach cuts the graph but shares storage', () => {
  const x = Tensor.from([1, 2], [2], { requiresGrad: true });
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.data, x.data);
  const y = x.mul(d); // gradient flows only through the first factor
  y.backward({ gradient: Tensor.ones([2]) });
  assert.deepEqual(x.grad!.toArray(), [1, 2]);
});

test('the graph is freed after backward; a second pass needs retainGraph', () => {
  const x = Tensor.from([1.5], [1], { requiresGrad: true });
  const y = x.tanh().mul(3);
  y.backward({ retainGraph: true });
  const once = x.grad!.item();
  y.backward();
  assert.ok(Math.abs(x.grad!.item() - 2 * once) < 1e-6);
  assert.throws(() => y.backward(), (error: Error) => error instanceof QkvError && /already freed/.test(error.message));
});

test('backward on a non-scalar without a gradient, or without requiresGrad, is a clear error', () => {
  const x = Tensor.from([1, 2], [2], { requiresGrad: true });
  assert.throws(() => x.mul(2).backward(), /gradient can be implied only for a scalar; got shape \(2\)/);
  assert.throws(() => Tensor.from([1], [1]).backward(), /does not require grad/);
});

test('a long chain (10k ops) backpropagates without overflowing the stack', () => {
  const x = Tensor.from([1], [1], { requiresGrad: true });
  let y = x;
  for (let i = 0; i < 10_000; i++) y = y.mul(1.0001);
  y.backward();
  assert.ok(Math.abs(x.grad!.item() - Math.pow(1.0001, 10_000)) < 1e-2);
});

test('freed graphs do not keep activations alive (memory stays flat over many steps)', () => {
  const w = Tensor.randn([256, 256], { requiresGrad: true });
  const step = () => {
    const h = w.mul(w).tanh().add(1); // three 256×256 activations per step
    h.backward({ gradient: Tensor.ones([256, 256]) });
    w.grad = null;
  };
  for (let i = 0; i < 20; i++) step();
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 200; i++) step();
  globalThis.gc?.();
  const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  // 200 steps × 3 × 256 KB = 150 MB if activations leaked; allow 40 MB of GC slack.
  assert.ok(after - before < 40e6, `memory grew by ${((after - before) / 1e6).toFixed(1)} MB`);
});
