import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layerNormForward, rmsNormForward } from '../../../src/kernels/reference/norm.ts';

test('layerNorm of [1, 2, 3, 4] by hand: mean 2.5, variance 1.25', () => {
  const out = new Float64Array(4);
  const mean = new Float64Array(1);
  const rstd = new Float64Array(1);
  layerNormForward(out, mean, rstd, Float64Array.of(1, 2, 3, 4), Float64Array.of(2, 2, 2, 2), Float64Array.of(1, 1, 1, 1), 1, 4, 0);
  assert.equal(mean[0], 2.5);
  assert.ok(Math.abs(rstd[0] - 1 / Math.sqrt(1.25)) < 1e-15);
  [-1.5, -0.5, 0.5, 1.5].forEach((d, i) => assert.ok(Math.abs(out[i] - (2 * d / Math.sqrt(1.25) + 1)) < 1e-12));
});

test('rmsNorm of [1, 2, 3, 4] by hand: rms √7.5', () => {
  const out = new Float64Array(4);
  const rrms = new Float64Array(1);
  rmsNormForward(out, rrms, Float64Array.of(1, 2, 3, 4), null, 1, 4, 0);
  [1, 2, 3, 4].forEach((v, i) => assert.ok(Math.abs(out[i] - v / Math.sqrt(7.5)) < 1e-12));
});
