import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lagBatch, positionsExperiment } from '../../../src/lab/experiments/positions.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';
import { Rng } from '../../../src/tensor/random.ts';

test('positions --quick: removing positions breaks the order task; learned and RoPE solve it', async () => {
  const result = await positionsExperiment.run(resolveParams(positionsExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const accuracy = (scheme: string) => result.rows.find((r) => r[0] === scheme)![2] as number;
  assert.ok(accuracy('learned') > 0.9);
  assert.ok(accuracy('rope') > 0.9);
  assert.ok(accuracy('none') < 0.5, `none reached ${accuracy('none')}`);
});

test('lagBatch targets are the token lag places back, −100 before it (hand-checked)', () => {
  const { ids, targets } = lagBatch(1, 5, 10, 2, new Rng(3));
  const tokens = ids.toArray();
  assert.deepEqual(Array.from(targets), [-100, -100, tokens[0], tokens[1], tokens[2]]);
});
