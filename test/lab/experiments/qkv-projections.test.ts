import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qkvProjectionsExperiment } from '../../../src/lab/experiments/qkv-projections.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('qkv-projections --quick: separate W_q/W_k/W_v find the successor key; a shared projection is pulled to the query itself', async () => {
  const result = await qkvProjectionsExperiment.run(resolveParams(qkvProjectionsExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (kind: string) => result.rows.find((r) => r[0] === kind)!;
  assert.ok((row('separate')[2] as number) > 0.9);
  assert.ok((row('shared')[2] as number) < 0.8);
  assert.equal(row('shared')[1], (row('separate')[1] as number) / 2, 'one C×C projection instead of three, same W_o');
});
