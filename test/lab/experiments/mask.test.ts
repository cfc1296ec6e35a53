import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullyPaddedRow, maskExperiment } from '../../../src/lab/experiments/mask.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('mask --quick: −∞ never leaks; −1000 leaks once scores reach the thousands; −1e9 only at 1e10', async () => {
  const result = await maskExperiment.run(resolveParams(maskExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (std: number) => result.rows.find((r) => r[0] === std)!;
  for (const std of [1, 100, 1000, 1e10]) assert.equal(row(std)[1], 0, `−∞ leaks nothing at ${std}`);
  assert.ok((row(1)[2] as number) < 1e-12, '−1000 is fine for small scores');
  assert.ok((row(1000)[2] as number) > 0.05, '−1000 leaks when scores are ~1000');
  assert.ok((row(1000)[3] as number) < 1e-12, '−1e9 holds at 1000');
  assert.ok((row(1e10)[3] as number) > 0.05, '−1e9 leaks at 1e10');
});

test('fully padded row: −∞ gives zeros (not NaN); a finite mask puts total weight 1 on padding', () => {
  assert.deepEqual(fullyPaddedRow('-inf', 4), [0, 0, 0, 0]);
  const finite = fullyPaddedRow('-1000', 4);
  assert.ok(Math.abs(finite.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'equal −1000 shifts cancel in the softmax');
});
