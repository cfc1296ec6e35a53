import { test } from 'node:test';
import assert from 'node:assert/strict';
import { samplingExperiment, trainBigram } from '../../../src/lab/experiments/sampling.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('sampling --quick: entropy rises with temperature, top-k 5 stays under ln 5, greedy loops and the repetition penalty breaks the loop', async () => {
  const result = await samplingExperiment.run(resolveParams(samplingExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (label: string) => result.rows.find((r) => r[0] === label)!;
  const entropy = (label: string) => row(label)[1] as number;
  assert.ok(entropy('T=0.5') < entropy('T=1') && entropy('T=1') < entropy('T=1.5'));
  assert.ok(entropy('top-k 5') <= Math.log(5) + 1e-9, 'at most 5 tokens left');
  assert.ok(entropy('top-p 0.5') < entropy('top-p 0.9'));
  assert.equal(entropy('greedy'), 0);
  assert.ok((row('greedy')[4] as number) > 0.3, 'greedy decoding repeats itself');
  assert.ok((row('T=1')[4] as number) < 0.1);
  assert.ok((row('greedy, rep. penalty 1.5')[4] as number) < (row('greedy')[4] as number));
  assert.ok((row('T=1.5')[3] as number) > (row('greedy')[3] as number), 'distinct-2 higher when sampling hot');
});

test('bigram model: smoothed p(next | prev) matches the hand-worked counts; <unk> is never generated', () => {
  // U = 6 words (a 3, b 2, c 1), V = 4 with <unk>; row 'a' has 3 pairs, smoothing 1:
  // p(v | a) = (c(a, v) + (u_v + 0.5) / (U + 0.5 V)) / (3 + 1)
  const model = trainBigram(['a b', 'a b', 'a c'], 4, 1);
  const p = (word: string) => Math.exp(model.logits(model.words.indexOf('a'))[model.words.indexOf(word)]);
  assert.ok(Math.abs(p('b') - (2 + 2.5 / 8) / 4) < 1e-6);
  assert.ok(Math.abs(p('c') - (1 + 1.5 / 8) / 4) < 1e-6);
  assert.ok(Math.abs(p('a') - (3.5 / 8) / 4) < 1e-6);
  assert.equal(model.logits(1)[0], -Infinity);
});
