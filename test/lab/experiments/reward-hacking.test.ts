import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestOfNExpectation, goldReward, rewardHackingExperiment } from '../../../src/lab/experiments/reward-hacking.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('reward-hacking --quick: under best-of-n the proxy keeps rising, gold peaks then falls, and the proxy–gold gap grows with n', async () => {
  const result = await rewardHackingExperiment.run(resolveParams(rewardHackingExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const proxy = result.rows.map((r) => r[2] as number);
  const gold = result.rows.map((r) => r[4] as number);
  const gap = result.rows.map((r) => r[5] as number);
  for (let i = 1; i < proxy.length; i++) assert.ok(proxy[i] >= proxy[i - 1], `proxy ${proxy.join(', ')} never falls (nested best-of-n)`);
  assert.ok(Math.abs(gap[0]) < 1e-9, 'n = 1: the calibrated proxy equals gold on the reference');
  assert.ok(gap.at(-1)! > gap[0] + 1, `gap ${gap.join(', ')}`);
  for (let i = 2; i < gap.length; i++) assert.ok(gap[i] > gap[i - 1], `gap grows with n past n = 4: ${gap.join(', ')}`);
  assert.ok(Math.max(...gold) > gold[0] + 0.5, 'mild optimisation helps gold');
  assert.ok(gold.at(-1)! < Math.max(...gold) - 1, `over-optimisation hurts gold: ${gold.join(', ')}`);
});

test('bestOfNExpectation: equals enumerating every n-subset (hand-checked on 4 samples); goldReward by hand', () => {
  const scores = [0.3, 0.9, 0.1, 0.5];
  const values = [10, 20, 30, 40];
  // n = 2: 6 subsets, the best-scored member's value: {0,1}→20 {0,2}→10 {0,3}→40 {1,2}→20 {1,3}→20 {2,3}→40.
  assert.ok(Math.abs(bestOfNExpectation(scores, values, 2) - 150 / 6) < 1e-12);
  assert.ok(Math.abs(bestOfNExpectation(scores, values, 1) - 25) < 1e-12, 'n = 1: the mean');
  assert.ok(Math.abs(bestOfNExpectation(scores, values, 4) - 20) < 1e-12, 'n = N: the top-scored sample');
  assert.throws(() => bestOfNExpectation(scores, values, 5), /n must be in \[1, 4\]/);
  assert.equal(goldReward('abab', 3, 2), 2);
  assert.equal(goldReward('aaaaa', 3, 2), 3 - 4);
});
