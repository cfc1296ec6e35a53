import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyBatch, seq2seqBottleneckExperiment } from '../../../src/lab/experiments/seq2seq-bottleneck.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';
import { Rng } from '../../../src/tensor/random.ts';

test('seq2seq-bottleneck --quick: attention copies far better than the one fixed context vector, at every length', async () => {
  const result = await seq2seqBottleneckExperiment.run(resolveParams(seq2seqBottleneckExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const accuracy = (length: number, context: string) => result.rows.find((r) => r[0] === length && r[1] === context)![2] as number;
  for (const length of [4, 10]) assert.ok(accuracy(length, 'additive attention') > accuracy(length, 'fixed vector') + 0.2, `length ${length}`);
  assert.ok(accuracy(4, 'additive attention') > 0.9);
});

test('copyBatch: labels are the source followed by EOS', () => {
  const { source, labels } = copyBatch(2, 3, 10, new Rng(0));
  const s = source.toArray();
  assert.deepEqual(labels.toArray(), [s[0], s[1], s[2], 2, s[3], s[4], s[5], 2]);
  assert.ok(s.every((token) => token >= 3 && token < 10));
});
