import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loraRankExperiment } from '../../../src/lab/experiments/lora-rank.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('lora-rank --quick: trainable parameters grow linearly with r; rank 8 adapts the base far past its own accuracy, full fine-tuning best', async () => {
  const result = await loraRankExperiment.run(resolveParams(loraRankExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (name: string) => result.rows.find((r) => r[0] === name)!;
  assert.equal(row('LoRA r=8')[1], 8 * (row('LoRA r=1')[1] as number), 'r·(in + out) per wrapped layer');
  assert.ok((row('LoRA r=8')[2] as number) < 1);
  assert.ok((row('base (no adaptation)')[3] as number) < 0.2, 'the base model does not know the new task');
  assert.ok((row('LoRA r=8')[3] as number) > 0.5);
  assert.ok((row('full fine-tuning')[3] as number) > 0.9);
});
