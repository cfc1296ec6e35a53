import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headsExperiment, type HeadsResult } from '../../../src/lab/experiments/heads.ts';
import { renderWeightGridSvg } from '../../../src/lab/heatmap-svg.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';
import { recallBatch } from '../../../src/lab/experiments/recall-task.ts';
import { Rng } from '../../../src/tensor/random.ts';

test('heads --quick: at equal parameters, 4 heads recall two keys at once and 1 head cannot', async () => {
  const result = await headsExperiment.run(resolveParams(headsExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (heads: number) => result.rows.find((r) => r[0] === heads)!;
  assert.equal(row(1)[2], row(4)[2], 'same attention parameter count');
  assert.ok((row(4)[3] as number) > 0.9);
  assert.ok((row(1)[3] as number) < 0.7, 'one softmax serves one key (≈ 0.5 + 0.5/V)');
});

test('recallBatch: targets are the values of the asked keys; successor asks for key a + 1 with key a present', () => {
  const task = { keys: 10, values: 5, slots: 4, queries: 2 };
  const batch = recallBatch(task, 3, new Rng(1));
  for (let b = 0; b < 3; b++) {
    for (let q = 0; q < 2; q++) {
      const slot = Array.from(batch.slotKeys.subarray(b * 4, b * 4 + 4)).indexOf(batch.queryKeys[b * 2 + q]);
      assert.ok(slot >= 0);
      assert.equal(batch.targets[b * 2 + q], batch.slotValues[b * 4 + slot]);
    }
  }
  const successor = recallBatch({ ...task, queries: 1, relation: 'successor' }, 5, new Rng(2));
  for (let b = 0; b < 5; b++) {
    const keys = Array.from(successor.slotKeys.subarray(b * 4, b * 4 + 4));
    const a = successor.queryKeys[b];
    assert.ok(keys.includes(a), 'distractor present');
    assert.equal(successor.targets[b], successor.slotValues[b * 4 + keys.indexOf((a + 1) % 10)]);
  }
});

test('heads figure: one panel per head, each row the weights of the trained reader over the slots (asked slots first), summing to 1', async () => {
  const result = (await headsExperiment.run(resolveParams(headsExperiment, { quick: true, overrides: { heads: '1,2', steps: 20 } }), { seed: 0, onProgress: () => {} })) as HeadsResult;
  assert.deepEqual(result.figures.map((f) => f.name), ['attention-1-heads', 'attention-2-heads']);
  const svg = result.figures[1].svg;
  assert.ok(svg.startsWith('<?xml') && svg.includes('<svg'));
  assert.equal((svg.match(/class="panel"/g) ?? []).length, 2, 'two heads, two panels');
  // 8 examples × 8 slots per panel; each row's weights (read back from the tooltips) sum to 1.
  const weights = [...svg.matchAll(/head 1: [^<]*: ([0-9.]+)<\/title>/g)].map((m) => Number(m[1]));
  assert.equal(weights.length, 64);
  for (let row = 0; row < 8; row++) {
    const sum = weights.slice(row * 8, row * 8 + 8).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 0.01, `row ${row} sums to ${sum}`);
  }
  assert.throws(() => renderWeightGridSvg({ title: 't', rowLabels: ['r'], columnLabels: ['a', 'b'], panels: [{ title: 'p', weights: [[1]] }], caption: '' }), /panel "p" must be 1 × 2/);
});
