import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureSaturation, scalingExperiment } from '../../../src/lab/experiments/scaling.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';
import { Rng } from '../../../src/tensor/random.ts';

test('scaling --quick: unscaled softmax entropy collapses and its score gradient shrinks as d_k grows; scaled stays near uniform', async () => {
  const params = resolveParams(scalingExperiment, { quick: true, overrides: { steps: 25 } });
  const progress: Array<Record<string, string | number> | undefined> = [];
  const result = await scalingExperiment.run(params, { seed: 0, onProgress: (_done, _total, fields) => progress.push(fields) });
  const row = (variant: string, dk: number) => result.rows.find((r) => r[0] === variant && r[1] === dk)!;
  // The progress reports carry the numbers as they come (the web page plots them live).
  assert.deepEqual(progress.slice(0, 4).map((fields) => fields?.['unscaled entropy']), [16, 64, 256, 1024].map((dk) => row('unscaled', dk)[2]));
  const uniform = Math.log(32);
  assert.ok((row('scaled', 1024)[2] as number) > 0.8 * uniform, 'scaled entropy stays near ln T');
  assert.ok((row('unscaled', 1024)[2] as number) < 0.3, 'unscaled entropy collapses');
  assert.ok((row('unscaled', 16)[2] as number) > (row('unscaled', 1024)[2] as number) * 3);
  assert.ok((row('unscaled', 1024)[3] as number) > 0.85, 'unscaled max weight → 1');
  assert.ok((row('unscaled', 1024)[4] as number) < 0.5 * (row('scaled', 1024)[4] as number), 'saturated softmax passes less gradient');
  for (const recipe of ['scaled', 'unscaled', 't5-init', 'learned-temperature']) assert.ok(Number.isFinite(row(`train ${recipe}`, 64)[5] as number));
});

test('saturation at d_k = 1 with one key is exactly weight 1, entropy 0, zero gradient (hand-worked)', () => {
  const point = measureSaturation(1, true, { keys: 1, queries: 3, rng: new Rng(1) });
  assert.equal(point.maxWeight, 1);
  assert.equal(point.entropy, 0);
  assert.equal(point.gradNorm, 0);
});
