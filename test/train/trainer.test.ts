import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt.ts';
import { loadGPT, saveGPT } from '../../src/models/gpt-folder.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { TokenDataset, unigramCrossEntropy } from '../../src/train/data.ts';
import { TRAIN_DEFAULTS, trainLanguageModel, type TrainConfig } from '../../src/train/trainer.ts';

const text = readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8').slice(0, 60_000);
const tokenizer = trainCharTokenizer(text);
const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
const modelConfig = { vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, embd_pdrop: 0.1, resid_pdrop: 0.1 };
const config: TrainConfig = { ...TRAIN_DEFAULTS, steps: 6, batchSize: 2, blockSize: 16, warmupSteps: 2, evalInterval: 3, evalBatches: 2, gradientAccumulationSteps: 2, seed: 7 };

test('resuming after N steps gives weights byte-identical to an uninterrupted run (dropout on)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-resume-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const straight = new GPT(modelConfig, { rng: new Rng(1) });
  await trainLanguageModel({ model: straight, dataset, config, outDir: null, saveModel: () => {} });

  const first = new GPT(modelConfig, { rng: new Rng(1) });
  const stopped = await trainLanguageModel({ model: first, dataset, config, outDir: dir, saveModel: (d) => saveGPT(d, first, tokenizer), stopAfterSteps: 3 });
  assert.equal(stopped.steps, 3);
  assert.ok(existsSync(join(dir, 'optimizer.safetensors')) && existsSync(join(dir, 'trainer_state.json')));
  const { model: resumedModel } = loadGPT(dir);
  const resumed = await trainLanguageModel({ model: resumedModel, dataset, config, outDir: dir, saveModel: (d) => saveGPT(d, resumedModel, tokenizer), resume: true });
  assert.equal(resumed.steps, 6);

  const expected = straight.stateDict();
  for (const [name, tensor] of Object.entries(resumedModel.stateDict())) {
    const a = new Uint8Array(tensor.toFloat32Array().buffer);
    const b = new Uint8Array(expected[name].toFloat32Array().buffer);
    assert.deepEqual(a, b, `${name} differs after resume`);
  }
  const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4, 5, 6]);
  assert.ok(metrics[2].val_loss > 0 && metrics[5].val_loss > 0);
});

test('training reduces the held-out loss below the unigram level on real text', async () => {
  const model = new GPT({ ...modelConfig, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 32, embd_pdrop: 0, resid_pdrop: 0 }, { rng: new Rng(2) });
  const summary = await trainLanguageModel({
    model, dataset, outDir: null, saveModel: () => {},
    config: { ...config, steps: 250, batchSize: 8, blockSize: 32, gradientAccumulationSteps: 1, learningRate: 1e-2, minLearningRate: 1e-3, warmupSteps: 10, evalInterval: 250, evalBatches: 8 },
  });
  // A model that only learned letter frequencies scores the unigram cross-entropy; context must beat it.
  const unigram = unigramCrossEntropy(dataset.train, dataset.validation, tokenizer.vocabSize);
  assert.ok(summary.finalValLoss < unigram - 0.15, `held-out loss ${summary.finalValLoss} vs unigram ${unigram}`);
  assert.ok(summary.history[0].loss > summary.finalLoss);
  assert.ok(summary.tokensPerSecond > 0 && summary.peakRssBytes > 0);
});

test('bad configs are named', async () => {
  const model = new GPT(modelConfig);
  await assert.rejects(trainLanguageModel({ model, dataset, config: { ...config, blockSize: 64 }, outDir: null, saveModel: () => {} }), /blockSize 64 exceeds the model's context length 16/);
  await assert.rejects(trainLanguageModel({ model, dataset, config: { ...config, steps: 0 }, outDir: null, saveModel: () => {} }), /steps must be a positive integer/);
});

test('memory stays flat over 1,000 training steps (graphs and kernel buffers are released)', async () => {
  const model = new GPT({ ...modelConfig, n_embd: 32, n_head: 4 }, { rng: new Rng(3) });
  const rss: number[] = [];
  await trainLanguageModel({
    model, dataset, outDir: null, saveModel: () => {},
    config: { ...config, steps: 1000, batchSize: 4, blockSize: 16, gradientAccumulationSteps: 1, warmupSteps: 10, evalInterval: 1000, evalBatches: 1 },
    hooks: { onStep: (record) => { if (record.step % 100 === 0) rss.push(process.memoryUsage().rss); } },
  });
  const settled = rss[1]; // after 200 steps: buffers and JIT warmed up
  const growthMiB = (Math.max(...rss.slice(2)) - settled) / 2 ** 20;
  // A leak of one step's activations (~1 MB here) would add hundreds of MiB over 800 steps.
  assert.ok(growthMiB < 40, `RSS grew ${growthMiB.toFixed(1)} MiB between step 200 and step 1000 (${rss.map((r) => (r / 2 ** 20).toFixed(0)).join(', ')} MiB)`);
});
