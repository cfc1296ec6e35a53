import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../../src/models/gpt.ts';
import { loadGPT, saveGPT } from '../../../src/models/gpt-folder.ts';
import { trainCharTokenizer } from '../../../src/tokenizers/char.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { TokenDataset } from '../../../src/train/data.ts';
import { TRAIN_DEFAULTS, trainLanguageModel, type TrainConfig } from '../../../src/train/trainer.ts';
import { flatLayout } from '../../../src/train/parallel/flat-layout.ts';
import { bucketsWithin, shardRange } from '../../../src/train/parallel/collective.ts';
import { trainParallel } from '../../../src/train/parallel/launch.ts';
import { shardUnits } from '../../../src/train/parallel/fsdp-shards.ts';
import { maxWeightDifference } from '../../../src/nn/weight-difference.ts';

const text = readFileSync(new URL('../../../data/brown.txt', import.meta.url), 'utf8').slice(0, 40_000);
const tokenizer = trainCharTokenizer(text);
const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
const modelConfig = { vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, embd_pdrop: 0, resid_pdrop: 0, attn_pdrop: 0 };
const config: TrainConfig = { ...TRAIN_DEFAULTS, steps: 4, batchSize: 2, blockSize: 16, warmupSteps: 1, evalInterval: 100, evalBatches: 1, gradClip: 1, seed: 3, learningRate: 1e-2, minLearningRate: 1e-3 };
// Tolerance 5e-5 against weights that move by ~3e-2: float32 sums in another order, amplified by Adam's 1/√v.
// Small buckets, so gradients cross several buckets and big parameters are split between them.
const bucketElements = 700;

/** How far training moved the weights (so "same weights" is not trivially true). */
function movedFromInit(a: GPT): number {
  return maxWeightDifference(a, new GPT(modelConfig, { rng: new Rng(1) }));
}

test('flatLayout: buckets of whole parameters; a parameter larger than a bucket is split (hand-worked)', () => {
  const layout = flatLayout([3, 4, 10, 2], 5);
  assert.deepEqual(layout.offsets, [0, 3, 7, 17]);
  assert.equal(layout.length, 19);
  assert.deepEqual(layout.buckets, [[0, 3], [3, 7], [7, 12], [12, 17], [17, 19]]);
  assert.equal(layout.bucketCapacity, 5);
  assert.deepEqual([0, 1, 2].map((r) => shardRange(10, r, 3)), [[0, 3], [3, 6], [6, 10]]);
  // One FSDP unit's flat range (parameters 1–2 and half of 3 would be [3, 18)): the buckets cut to it.
  assert.deepEqual(bucketsWithin(layout, [3, 18]), [[3, 7], [7, 12], [12, 17], [17, 18]]);
  assert.deepEqual(bucketsWithin(layout, [5, 5]), []);
  assert.throws(() => bucketsWithin(layout, [4, 20]), /range \[4, 20\) is outside the flat vector of 19/);
});

test('DDP: 2 workers on batch B give the weights of 1 worker on batch 2B; FSDP gives the same as DDP', async () => {
  const single = new GPT(modelConfig, { rng: new Rng(1) });
  await trainLanguageModel({ model: single, dataset, config: { ...config, batchSize: 2 * config.batchSize }, outDir: null, saveModel: () => {} });

  const ddp = new GPT(modelConfig, { rng: new Rng(1) });
  const ddpRun = await trainParallel({ model: ddp, dataset, config, workers: 2, strategy: 'ddp', outDir: null, saveModel: () => {}, bucketElements });
  const fsdp = new GPT(modelConfig, { rng: new Rng(1) });
  const fsdpRun = await trainParallel({ model: fsdp, dataset, config, workers: 2, strategy: 'fsdp', outDir: null, saveModel: () => {}, bucketElements });

  const moved = movedFromInit(single);
  const ddpDiff = maxWeightDifference(ddp, single);
  const fsdpDiff = maxWeightDifference(fsdp, ddp);
  console.log(`moved ${moved.toExponential(2)}; DDP vs single ${ddpDiff.toExponential(2)}; FSDP vs DDP ${fsdpDiff.toExponential(2)}`);
  assert.ok(moved > 1e-2, `training moved the weights by ${moved}`);
  // The comparison can fail: one worker on batch B alone (half the global batch) lands elsewhere.
  const halfBatch = new GPT(modelConfig, { rng: new Rng(1) });
  await trainLanguageModel({ model: halfBatch, dataset, config, outDir: null, saveModel: () => {} });
  assert.ok(maxWeightDifference(halfBatch, single) > 1e-3, `batch B and batch 2B runs agree to ${maxWeightDifference(halfBatch, single)}`);
  assert.ok(ddpDiff < 5e-5, `DDP differs from the single worker by ${ddpDiff}`);
  assert.ok(fsdpDiff < 5e-5, `FSDP differs from DDP by ${fsdpDiff}`);
  assert.deepEqual(ddpRun.history.map((r) => r.step), [1, 2, 3, 4]);
  const singleLoss = (await trainLanguageModel({ model: new GPT(modelConfig, { rng: new Rng(1) }), dataset, config: { ...config, steps: 1, warmupSteps: 0, batchSize: 4 }, outDir: null, saveModel: () => {} })).finalLoss;
  assert.ok(Math.abs(ddpRun.history[0].loss - singleLoss) < 1e-5, `step-1 loss ${ddpRun.history[0].loss} vs ${singleLoss}`);

  // Counted bytes: DDP holds parameters + AdamW m, v (3P) between steps and 4P with the gradients;
  // FSDP holds 1/N of master weights and AdamW state (3P/N) between steps; at its peak (a block's
  // backward) also the gradient shard (4P/N in all), the root unit's parameters and gradients, and
  // one block's full parameters and gradients.
  const [ddp0] = ddpRun.workerMemory;
  const [fsdp0, fsdp1] = fsdpRun.workerMemory;
  const paramBytes = ddp.parameters().reduce((n, p) => n + p.size * 4, 0);
  assert.equal(ddp0.restingHeldBytes, 3 * paramBytes);
  assert.equal(ddp0.peakHeldBytes, 4 * paramBytes);
  assert.ok(Math.abs(fsdp0.restingHeldBytes + fsdp1.restingHeldBytes - 3 * paramBytes) <= 16);
  const { root, blocks } = shardUnits(fsdp, fsdp.parameters(), flatLayout(fsdp.parameters().map((p) => p.size)));
  const block = Math.max(...blocks.map((unit) => unit.elements)) * 4;
  const shard = (shardRange(paramBytes / 4, 0, 2)[1] - shardRange(paramBytes / 4, 0, 2)[0]) * 4;
  assert.ok(fsdp0.peakHeldBytes >= 4 * shard + 2 * block && fsdp0.peakHeldBytes <= 4 * shard + 2 * block + 2 * root.elements * 4, `FSDP peak ${fsdp0.peakHeldBytes}`);
});

test('FSDP checkpoint is one ordinary model folder that resumes with another worker count', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-fsdp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const straight = new GPT(modelConfig, { rng: new Rng(1) });
  await trainParallel({ model: straight, dataset, config, workers: 1, strategy: 'ddp', outDir: null, saveModel: () => {}, bucketElements });

  const first = new GPT(modelConfig, { rng: new Rng(1) });
  const stopped = await trainParallel({ model: first, dataset: dataset, config: { ...config, batchSize: 1 }, workers: 2, strategy: 'fsdp', outDir: dir, saveModel: (d) => saveGPT(d, first, tokenizer), stopAfterSteps: 2, bucketElements });
  assert.equal(stopped.steps, 2);
  const { model: resumed } = loadGPT(dir); // an ordinary folder: the single-process loader reads it
  await trainParallel({ model: resumed, dataset, config, workers: 1, strategy: 'ddp', outDir: dir, saveModel: (d) => saveGPT(d, resumed, tokenizer), resume: true, bucketElements });
  const diff = maxWeightDifference(resumed, straight);
  console.log(`FSDP×2 (2 steps) → DDP×1 (2 steps) vs DDP×1 (4 steps): ${diff.toExponential(2)}`);
  assert.ok(diff < 5e-5, `resumed run differs by ${diff}`);
});
