import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parallelExperiment } from '../../../src/lab/experiments/parallel.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('parallel --quick: DDP and FSDP with 1 or 2 workers train the single-process weights; FSDP ×2 halves the resting bytes, DDP keeps 3P', async () => {
  const result = await parallelExperiment.run(resolveParams(parallelExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (run: string, workers: number) => result.rows.find((r) => r[0] === run && r[1] === workers)!;
  for (const r of result.rows.slice(1)) assert.ok((r[6] as number) < 5e-5, `${r[0]} ×${r[1]} is ${r[6]} from the single-process weights`);
  // DDP: every rank keeps weights + AdamW m and v (3P) whatever N; FSDP shards all three.
  assert.equal(row('ddp', 2)[3], row('ddp', 1)[3]);
  const ratio = (row('fsdp', 2)[3] as number) / (row('ddp', 2)[3] as number);
  assert.ok(Math.abs(ratio - 0.5) < 0.01, `FSDP ×2 resting / DDP ×2 resting = ${ratio}`);
  assert.ok((row('fsdp', 2)[4] as number) < (row('ddp', 2)[4] as number), 'FSDP ×2 peaks below DDP ×2');
  assert.ok(result.rows.every((r) => (r[5] as number) > 0 && Number.isFinite(r[7] as number)));
});
