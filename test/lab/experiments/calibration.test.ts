import { test } from 'node:test';
import assert from 'node:assert/strict';
import { calibrationExperiment, episodeText, labelBias } from '../../../src/lab/experiments/calibration.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';
import { Rng } from '../../../src/tensor/random.ts';

test('calibration --quick: contextual calibration reduces the label bias of few-shot predictions and raises accuracy', async () => {
  const result = await calibrationExperiment.run(resolveParams(calibrationExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const mean = (column: number) => result.rows.reduce((sum, row) => sum + (row[column] as number), 0) / result.rows.length;
  assert.ok(mean(3) > 0.3, `a prompt biased towards the commoner label: bias ${mean(3)}`);
  assert.ok(mean(4) < mean(3) - 0.1, `bias ${mean(3)} → ${mean(4)}`);
  assert.ok(mean(2) > mean(1) + 0.05, `accuracy ${mean(1)} → ${mean(2)}`);
});

test('labelBias is the total-variation distance; episodes are "input: label" shots joined by ";"', () => {
  assert.equal(labelBias([1, 0], [0.5, 0.5]), 0.5);
  assert.equal(labelBias([0.5, 0.5], [0.5, 0.5]), 0);
  assert.ok(Math.abs(labelBias([0.7, 0.3], [0.4, 0.6]) - 0.3) < 1e-12);
  for (const line of episodeText(20, 4, 2, 0.75, new Rng(3)).split('\n')) {
    for (const shot of line.split(';')) assert.match(shot, /^([a-h]{2}|N\/A|\[MASK\]|): [xy]$/);
  }
});
