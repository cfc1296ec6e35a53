import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossEntropyForward } from '../../../src/kernels/reference/crossentropy.ts';

test('cross-entropy of a 2-class row by hand, with and without label smoothing; ignored rows are 0', () => {
  // logits [2, 0], target 0: −log(e²/(e²+1))
  const losses = new Float64Array(2);
  const logNormalizers = new Float64Array(2);
  crossEntropyForward(losses, logNormalizers, Float64Array.of(2, 0, 5, 5), Int32Array.of(0, -100), 2, 2, -100, 0);
  const nll = -Math.log(Math.exp(2) / (Math.exp(2) + 1));
  assert.ok(Math.abs(losses[0] - nll) < 1e-15);
  assert.equal(losses[1], 0);
  // smoothing ε = 0.2: (1 − ε)·nll + ε·mean over classes of −log p
  crossEntropyForward(losses, logNormalizers, Float64Array.of(2, 0, 5, 5), Int32Array.of(0, -100), 2, 2, -100, 0.2);
  const logZ = Math.log(Math.exp(2) + 1);
  const smoothed = 0.8 * nll + 0.2 * ((logZ - 2) + (logZ - 0)) / 2;
  assert.ok(Math.abs(losses[0] - smoothed) < 1e-12, `${losses[0]} vs ${smoothed}`);
});
