import { test } from 'node:test';
import assert from 'node:assert/strict';
import { softmaxExperiment, wordPairs } from '../../../src/lab/experiments/softmax.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('softmax --quick: at V = 10000 the adaptive softmax trains faster than the full one, both beat the uniform perplexity', async () => {
  const result = await softmaxExperiment.run(resolveParams(softmaxExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (vocabulary: number, kind: string) => result.rows.find((r) => r[0] === vocabulary && r[1] === kind)!;
  assert.ok((row(10000, 'adaptive')[2] as number) < (row(10000, 'full')[2] as number), 'adaptive step is cheaper');
  for (const r of result.rows) assert.ok((r[3] as number) < (r[0] as number), `${r[1]} at V=${r[0]} beats uniform`);
});

test('wordPairs ranks ids by frequency (1 = most frequent, 0 = <unk>)', () => {
  const { train } = wordPairs(['b a a', 'a c'], [], 3);
  assert.deepEqual(Array.from(train[0]), [2, 1, 1]); // previous: b a | a
  assert.deepEqual(Array.from(train[1]), [1, 1, 0]); // next: a a | c (c is out of the 3-word vocabulary)
});
