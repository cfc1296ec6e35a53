import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GPT, type GPTConfig } from '../../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../../src/tokenizers/char.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { TokenDataset } from '../../../src/train/data.ts';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../../src/train/trainer.ts';
import { shardRange } from '../../../src/train/parallel/collective.ts';
import { flatLayout } from '../../../src/train/parallel/flat-layout.ts';
import { shardUnits } from '../../../src/train/parallel/fsdp-shards.ts';
import { trainParallel } from '../../../src/train/parallel/launch.ts';
import { maxWeightDifference } from '../../../src/nn/weight-difference.ts';

const text = readFileSync(new URL('../../../data/brown.txt', import.meta.url), 'utf8').slice(0, 40_000);
const tokenizer = trainCharTokenizer(text);
const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
const config: TrainConfig = { ...TRAIN_DEFAULTS, steps: 3, batchSize: 2, blockSize: 16, warmupSteps: 1, evalInterval: 100, evalBatches: 1, gradClip: 1, seed: 5, learningRate: 1e-2, minLearningRate: 1e-3 };
const bucketElements = 2000;

test('FSDP per block (8 blocks, dropout, 2 micro-batches) trains the weights DDP trains, at under 0.6x its peak bytes per worker', async () => {
  // Blocks dominate (12·C² each) and the root is small, as in a model whose optimiser state dominates.
  const modelConfig: Partial<GPTConfig> & { vocab_size: number } = { vocab_size: tokenizer.vocabSize, n_layer: 8, n_embd: 32, n_head: 2, n_positions: 16, attn_pdrop: 0.1, resid_pdrop: 0.1 };
  const accumulating = { ...config, steps: 2, gradientAccumulationSteps: 2 }; // step 2 has AdamW state: the peak
  const ddp = new GPT(modelConfig, { rng: new Rng(2) });
  const ddpRun = await trainParallel({ model: ddp, dataset, config: accumulating, workers: 2, strategy: 'ddp', outDir: null, saveModel: () => {}, bucketElements });
  const fsdp = new GPT(modelConfig, { rng: new Rng(2) });
  const fsdpRun = await trainParallel({ model: fsdp, dataset, config: accumulating, workers: 2, strategy: 'fsdp', outDir: null, saveModel: () => {}, bucketElements });
  const moved = maxWeightDifference(fsdp, new GPT(modelConfig, { rng: new Rng(2) }));
  const diff = maxWeightDifference(fsdp, ddp);
  console.log(`moved ${moved.toExponential(2)}; FSDP (per block) vs DDP ${diff.toExponential(2)}`);
  assert.ok(moved > 1e-2, `training moved the weights by ${moved}`);
  // Dropout is on: equal weights need the recomputed backward to replay the forward's masks.
  assert.ok(diff < 5e-5, `FSDP differs from DDP by ${diff}`);
  fsdpRun.history.forEach((record, i) => assert.ok(Math.abs(record.loss - ddpRun.history[i].loss) < 1e-5, `step ${i + 1} loss ${record.loss} vs ${ddpRun.history[i].loss}`));

  const params = fsdp.parameters();
  const P = params.reduce((n, p) => n + p.size, 0);
  const { root, blocks } = shardUnits(fsdp, params, flatLayout(params.map((p) => p.size)));
  const block = Math.max(...blocks.map((unit) => unit.elements));
  for (const m of fsdpRun.workerMemory) {
    const [start, end] = shardRange(P, m.rank, 2);
    const shard = end - start;
    // 4 shard arrays (master, m, v, gradient) + one block's parameters and gradients (+ the root's, at most twice).
    assert.ok(m.peakHeldBytes >= 4 * (4 * shard + 2 * block), `rank ${m.rank} peak ${m.peakHeldBytes}`);
    assert.ok(m.peakHeldBytes <= 4 * (4 * shard + 2 * block + 2 * root.elements), `rank ${m.rank} peak ${m.peakHeldBytes}`);
    assert.equal(m.restingHeldBytes, 4 * 3 * shard);
  }
  const ratio = Math.max(...fsdpRun.workerMemory.map((m) => m.peakHeldBytes)) / ddpRun.workerMemory[0].peakHeldBytes;
  console.log(`peak counted bytes per worker FSDP/DDP ${ratio.toFixed(3)}`);
  assert.ok(ratio <= 0.6, `FSDP peak is ${ratio} of DDP's`);
});

