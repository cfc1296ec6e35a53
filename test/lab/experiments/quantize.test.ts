import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantizeExperiment } from '../../../src/lab/experiments/quantize.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';

test('quantize --quick: q8_0 keeps perplexity within 1% at about a third of the bytes; 4-bit formats are smaller still', async () => {
  const result = await quantizeExperiment.run(resolveParams(quantizeExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (format: string) => result.rows.find((r) => r[0] === format)!;
  // q8_0 stores 32 int8 + one f16 scale per block: 34/128 of float32 for the quantised weights.
  assert.ok((row('q8_0')[2] as number) < 0.4);
  assert.ok((row('q4_0')[1] as number) < (row('q8_0')[1] as number));
  assert.ok((row('q4_g128')[1] as number) < (row('q8_0')[1] as number));
  assert.ok(Math.abs(row('q8_0')[4] as number) < 0.01);
  for (const format of ['q8_0', 'q4_0', 'q4_g128']) {
    assert.equal(row(format)[5], '', `${format}: every layer quantised`);
    assert.ok(Number.isFinite(row(format)[3] as number));
  }
  assert.ok((row('float32')[3] as number) < 40, 'the model learned something (76 characters)');
});
