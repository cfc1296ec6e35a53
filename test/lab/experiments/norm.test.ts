import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normExperiment } from '../../../src/lab/experiments/norm.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('norm --quick: per-token norms beat BatchNorm on small padded batches, and only BatchNorm differs between train and eval mode', async () => {
  const result = await normExperiment.run(resolveParams(normExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (kind: string) => result.rows.find((r) => r[0] === kind)!;
  for (const kind of ['layernorm', 'rmsnorm', 'none']) {
    assert.equal(row(kind)[4], 0, `${kind} is the same in train and eval mode`);
    assert.equal(row(kind)[2], row(kind)[3]);
  }
  assert.ok((row('batchnorm')[4] as number) > 0.1, 'BatchNorm eval outputs differ from train ones');
  assert.ok((row('layernorm')[2] as number) < 0.5 * (row('batchnorm')[2] as number));
  assert.ok((row('rmsnorm')[2] as number) < 0.5 * (row('batchnorm')[2] as number));
  assert.equal(result.plot.series.length, 4);
});
