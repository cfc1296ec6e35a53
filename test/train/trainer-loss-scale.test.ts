// The single-process trainer's dynamic loss scaling under fp16 (src/train/trainer.ts with
// src/train/precision.ts's LossScaler): a loss scale far too large makes the 16-bit gradients of
// the Linear products overflow to inf, so those steps must be skipped (weights untouched, bit for
// bit), counted, and the scale halved each time until the gradients are finite again; after
// that steps apply. The reference for "untouched" is the initial weights themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { TokenDataset } from '../../src/train/data.ts';
import { TRAIN_DEFAULTS, trainLanguageModel, type MetricsRecord } from '../../src/train/trainer.ts';

const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);

test('fp16 with an oversized loss scale: overflowing steps are skipped with the weights untouched, the scale halves, then steps apply', async () => {
  const tokenizer = trainCharTokenizer(text);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 32, n_head: 2, n_positions: 16 }, { rng: new Rng(1) });
  const initial = model.parameters().map((p) => Float32Array.from(p.data as Float32Array));
  const unchanged = (): boolean => model.parameters().every((p, i) => (p.data as Float32Array).every((v, j) => Object.is(v, initial[i][j])));
  const initScale = 2 ** 40;
  const records: (MetricsRecord & { unchanged: boolean })[] = [];
  const summary = await trainLanguageModel({
    model, dataset, outDir: null, saveModel: () => {}, precision: 'fp16', lossScaler: { initScale },
    config: { ...TRAIN_DEFAULTS, steps: 24, batchSize: 8, blockSize: 16, warmupSteps: 0, evalInterval: 100, evalBatches: 1, seed: 3 },
    hooks: { onStep: (record) => records.push({ ...record, unchanged: unchanged() }) },
  });
  const skipped = records.filter((r) => r.skipped);
  assert.ok(skipped.length >= 1, 'a 2^40 loss scale must overflow fp16 (65504) somewhere');
  assert.ok(records.some((r) => !r.skipped), `every step was skipped; the last scale was ${records.at(-1)!.loss_scale}`);
  assert.equal(summary.skippedSteps, skipped.length);
  assert.equal(summary.precision, 'fp16');
  let scale = initScale;
  let applied = false;
  for (const record of records) {
    assert.equal(record.loss_scale, scale, `step ${record.step}: scale`);
    assert.ok(Number.isFinite(record.loss), `step ${record.step}: the reported loss is the unscaled one, finite`);
    if (record.skipped) {
      scale /= 2;
      assert.equal(Number.isFinite(record.grad_norm), false, `step ${record.step}: skipped with a finite norm`);
      if (!applied) assert.ok(record.unchanged, `step ${record.step}: a skipped step changed the weights`);
    } else {
      applied = true;
      assert.ok(Number.isFinite(record.grad_norm));
    }
  }
  assert.equal(summary.lossScale, scale);
  assert.equal(unchanged(), false, 'the applied steps moved the weights');
  // The first applied step's loss is the model's untrained loss (nothing was applied before it).
  const firstApplied = records.findIndex((r) => !r.skipped);
  assert.ok(records[firstApplied].loss > Math.log(tokenizer.vocabSize) - 1, `loss ${records[firstApplied].loss}`);
});
