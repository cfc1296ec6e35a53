import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logSoftmaxForward, softmaxForward } from '../../../src/kernels/reference/softmax.ts';

test('softmax of [1, 2, 3] by hand, along a strided axis too', () => {
  const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
  const out = new Float64Array(3);
  softmaxForward(out, Float64Array.of(1, 2, 3), 1, 3, 1);
  [1, 2, 3].forEach((v, i) => assert.ok(Math.abs(out[i] - Math.exp(v) / z) < 1e-15));
  // the same values along axis 0 of a (3, 2) layout: inner = 2
  const strided = new Float64Array(6);
  softmaxForward(strided, Float64Array.of(1, 10, 2, 10, 3, 10), 1, 3, 2);
  [0, 2, 4].forEach((j, i) => assert.ok(Math.abs(strided[j] - out[i]) < 1e-15));
  [1, 3, 5].forEach((j) => assert.ok(Math.abs(strided[j] - 1 / 3) < 1e-15));
});

test('logSoftmax of [1, 2, 3] is x − log Σ e^x; an all −∞ row stays −∞ without NaN', () => {
  const out = new Float64Array(3);
  logSoftmaxForward(out, Float64Array.of(1, 2, 3), 1, 3, 1);
  const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  [1, 2, 3].forEach((v, i) => assert.ok(Math.abs(out[i] - (v - lse)) < 1e-15));
  const masked = new Float64Array(2);
  logSoftmaxForward(masked, Float64Array.of(-Infinity, -Infinity), 1, 2, 1);
  assert.deepEqual([...masked], [-Infinity, -Infinity]);
});
