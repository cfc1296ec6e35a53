import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt.ts';
import { getLinearPrecision, linearSavedBytes, resetLinearSavedBytes } from '../../src/nn/linear16.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { TokenDataset } from '../../src/train/data.ts';
import type { Precision } from '../../src/train/precision.ts';
import { TRAIN_DEFAULTS, trainLanguageModel } from '../../src/train/trainer.ts';

const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);

async function train(precision: Precision): Promise<{ losses: number[]; savedFirstStep: number }> {
  const tokenizer = trainCharTokenizer(text);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 32, n_head: 2, n_positions: 16 }, { rng: new Rng(1) });
  const losses: number[] = [];
  let savedFirstStep = 0;
  resetLinearSavedBytes();
  await trainLanguageModel({
    model, dataset, outDir: null, saveModel: () => {}, precision,
    config: { ...TRAIN_DEFAULTS, steps: 4, batchSize: 16, blockSize: 16, warmupSteps: 0, evalInterval: 100, evalBatches: 1, seed: 3 },
    hooks: {
      onStep(record) {
        losses.push(record.loss);
        if (record.step === 1) savedFirstStep = linearSavedBytes();
      },
    },
  });
  return { losses, savedFirstStep };
}

test('trainLanguageModel({ precision }): 16-bit runs track fp32 within 16-bit rounding and keep about half the Linear bytes', async () => {
  const fp32 = await train('fp32');
  for (const precision of ['bf16', 'fp16'] as const) {
    const run = await train(precision);
    assert.equal(getLinearPrecision(), 'fp32', 'the precision is restored after the run');
    for (let i = 0; i < fp32.losses.length; i++) {
      const delta = Math.abs(run.losses[i] - fp32.losses[i]);
      assert.ok(delta > 0 || i === 0 || precision === 'fp16', `${precision} step ${i + 1}: identical loss, the 16-bit path did not run`);
      assert.ok(delta < (precision === 'bf16' ? 0.05 : 0.01), `${precision} step ${i + 1}: |Δloss| ${delta}`);
    }
    // Inputs at 2 bytes instead of 4, plus a 16-bit copy of each weight.
    assert.ok(run.savedFirstStep < 0.75 * fp32.savedFirstStep, `${precision}: ${run.savedFirstStep} vs fp32 ${fp32.savedFirstStep} bytes`);
  }
});
