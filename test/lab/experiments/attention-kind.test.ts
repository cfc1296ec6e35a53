import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionKindExperiment } from '../../../src/lab/experiments/attention-kind.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('attention-kind --quick: both kinds learn recall; additive scores are slower at the longest sequence', async () => {
  const result = await attentionKindExperiment.run(resolveParams(attentionKindExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (kind: string, measure: string) => result.rows.find((r) => r[0] === kind && r[1] === measure)!;
  assert.ok((row('dot-product', 'recall')[2] as number) > 0.8);
  assert.ok((row('additive', 'recall')[2] as number) > 0.8);
  assert.ok((row('additive', 'scores T=64')[4] as number) > 2 * (row('dot-product', 'scores T=64')[4] as number), 'a (T, T, H) tanh costs more than a matmul');
});
