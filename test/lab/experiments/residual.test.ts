import { test } from 'node:test';
import assert from 'node:assert/strict';
import { residualExperiment } from '../../../src/lab/experiments/residual.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('residual --quick: without residuals the first block\'s gradient vanishes at depth; with them it stays alive and the loss is lower', async () => {
  const result = await residualExperiment.run(resolveParams(residualExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (depth: number, variant: string) => result.rows.find((r) => r[0] === depth && r[1] === variant)!;
  assert.ok((row(24, 'residual')[4] as number) > 0.3, 'residual: first/last gradient ratio near 1');
  assert.ok((row(24, 'no residual')[4] as number) < 0.05, 'no residual: first block gets a vanishing gradient');
  assert.ok((row(24, 'residual')[5] as number) < (row(24, 'no residual')[5] as number), 'residual trains better at depth');
  assert.equal(result.plot.series[0].points.length, 24);
});
