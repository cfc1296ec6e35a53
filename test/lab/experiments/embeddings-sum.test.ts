import { test } from 'node:test';
import assert from 'node:assert/strict';
import { embeddingsSumExperiment } from '../../../src/lab/experiments/embeddings-sum.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('embeddings-sum --quick: the summed BERT embedding gives back token, position and segment once C is large; rows are near-orthogonal as √(2/(πC)) predicts', async () => {
  const result = await embeddingsSumExperiment.run(resolveParams(embeddingsSumExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (width: number, layout: string) => result.rows.find((r) => r[0] === width && r[1] === layout)!;
  for (const column of [2, 3, 4]) assert.ok((row(384, 'sum')[column] as number) > 0.95);
  assert.ok((row(12, 'sum')[2] as number) < 0.3, 'too narrow: the parts interfere');
  for (const width of [12, 48, 384]) {
    const predicted = Math.sqrt(2 / (Math.PI * width));
    assert.ok(Math.abs((row(width, 'sum')[5] as number) / predicted - 1) < 0.2, `|cos| at C=${width}`);
  }
});
