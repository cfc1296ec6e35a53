import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGPT, saveGPT } from '../../src/models/gpt-folder.ts';
import { GPT } from '../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { TokenDataset } from '../../src/train/data.ts';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../src/train/trainer.ts';
import { trainParallel } from '../../src/train/parallel/launch.ts';
import { LossScaler, roundToPrecision } from '../../src/train/precision.ts';

test('roundToPrecision: fp16 overflows past 65504 and ties go to even; bf16 keeps 7 mantissa bits (hand-worked)', () => {
  const half = new Float32Array([70000, 65504, 1 + 2 ** -11, 1 + 3 * 2 ** -11]);
  roundToPrecision(half, 'fp16');
  assert.deepEqual([...half], [Infinity, 65504, 1, 1 + 2 ** -9]);
  const brain = new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 70000]);
  roundToPrecision(brain, 'bf16');
  assert.deepEqual([...brain], [1, 1 + 2 ** -6, 70144]);
});

test('LossScaler: doubles after growthInterval good steps, halves and counts a skipped step; bf16 never scales', () => {
  const scaler = new LossScaler('fp16', { initScale: 8, growthInterval: 2 });
  assert.equal(scaler.update(true), true);
  assert.equal(scaler.scale, 8);
  scaler.update(true);
  assert.equal(scaler.scale, 16);
  assert.equal(scaler.update(false), false);
  assert.deepEqual(scaler.state(), { scale: 8, goodSteps: 0, skippedSteps: 1 });
  const bf16 = new LossScaler('bf16', { initScale: 8 });
  bf16.update(false);
  assert.equal(bf16.scale, 1);
  assert.throws(() => new LossScaler('fp8' as never), /precision must be one of fp32, bf16, fp16/);
});

const text = readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8').slice(0, 40_000);
const tokenizer = trainCharTokenizer(text);
const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
const modelConfig = { vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 16, embd_pdrop: 0, resid_pdrop: 0, attn_pdrop: 0 };
const config: TrainConfig = { ...TRAIN_DEFAULTS, steps: 12, batchSize: 4, blockSize: 16, warmupSteps: 2, evalBatches: 1, evalInterval: 100, learningRate: 1e-2, minLearningRate: 1e-3, seed: 5 };

async function lossCurve(precision: 'fp32' | 'bf16' | 'fp16', lossScaler = {}) {
  const model = new GPT(modelConfig, { rng: new Rng(2) });
  return trainParallel({ model, dataset, config, workers: 1, strategy: 'ddp', outDir: null, saveModel: () => {}, precision, lossScaler });
}

test('fp32, bf16 and fp16 loss curves from the same seed agree within a stated tolerance; 16-bit storage does change them', async () => {
  const fp32 = await lossCurve('fp32');
  const bf16 = await lossCurve('bf16');
  const fp16 = await lossCurve('fp16');
  const gap = (run: typeof fp32) => Math.max(...run.history.map((r, i) => Math.abs(r.loss - fp32.history[i].loss)));
  console.log(`loss fp32 ${fp32.history[0].loss.toFixed(4)} → ${fp32.finalLoss.toFixed(4)}; max |Δ| bf16 ${gap(bf16).toExponential(2)}, fp16 ${gap(fp16).toExponential(2)}; fp16 skipped ${fp16.skippedSteps}`);
  assert.ok(fp32.history[0].loss - fp32.finalLoss > 0.3, 'the runs learn');
  assert.ok(gap(bf16) < 0.01, `bf16 loss curve is ${gap(bf16)} from fp32`);
  assert.ok(gap(fp16) < 2e-3, `fp16 loss curve is ${gap(fp16)} from fp32`);
  assert.ok(gap(bf16) > 1e-5 && gap(fp16) > 1e-6, 'rounding to 16 bits changes the curve');
  assert.equal(fp16.skippedSteps, 0);
});

test('fp16: an overflowing loss scale skips the step, halves the scale, and is counted', async () => {
  const run = await lossCurve('fp16', { initScale: 2 ** 24, growthInterval: 1000 });
  const skipped = run.history.filter((r) => r.skipped).length;
  console.log(`skipped ${skipped} of ${run.history.length} steps; scales ${run.history.map((r) => Math.log2(r.loss_scale)).join(',')}`);
  assert.ok(run.history[0].skipped, 'a 2^24 scale overflows fp16 gradients');
  assert.equal(run.skippedSteps, skipped);
  for (let i = 1; i < run.history.length; i++) {
    assert.equal(run.history[i].loss_scale, run.history[i - 1].loss_scale / (run.history[i - 1].skipped ? 2 : 1));
  }
  assert.ok(skipped < run.history.length, 'once the scale is small enough, steps are applied');
  assert.ok(Number.isFinite(run.finalValLoss));
});

test('fp16: a resumed run continues with the saved loss scale and skip count, and lands on the uninterrupted weights', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-fp16-resume-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lossScaler = { initScale: 2 ** 24, growthInterval: 3 };
  const straight = new GPT(modelConfig, { rng: new Rng(2) });
  const whole = await trainParallel({ model: straight, dataset, config, workers: 1, strategy: 'ddp', outDir: null, saveModel: () => {}, precision: 'fp16', lossScaler });
  const first = new GPT(modelConfig, { rng: new Rng(2) });
  await trainParallel({ model: first, dataset, config, workers: 1, strategy: 'ddp', outDir: dir, saveModel: (d) => saveGPT(d, first, tokenizer), precision: 'fp16', lossScaler, stopAfterSteps: 5 });
  const { model: resumed } = loadGPT(dir);
  const rest = await trainParallel({ model: resumed, dataset, config, workers: 1, strategy: 'ddp', outDir: dir, saveModel: (d) => saveGPT(d, resumed, tokenizer), precision: 'fp16', lossScaler, resume: true });
  assert.deepEqual(rest.history.map((r) => r.loss_scale), whole.history.slice(5).map((r) => r.loss_scale));
  assert.equal(rest.skippedSteps, whole.skippedSteps);
  const expected = straight.stateDict();
  for (const [name, tensor] of Object.entries(resumed.stateDict())) {
    assert.deepEqual(tensor.toFloat32Array(), expected[name].toFloat32Array(), `${name} differs after resume`);
  }
});
