import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../../src/models/gpt.ts';
import { loadGPT, saveGPT } from '../../../src/models/gpt-folder.ts';
import { trainCharTokenizer } from '../../../src/tokenizers/char.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { loadTrainerState } from '../../../src/train/checkpoint.ts';
import { TokenDataset } from '../../../src/train/data.ts';
import { TRAIN_DEFAULTS, trainLanguageModel, type TrainConfig } from '../../../src/train/trainer.ts';
import { trainParallel } from '../../../src/train/parallel/launch.ts';
import { maxWeightDifference } from '../../../src/nn/weight-difference.ts';

const text = readFileSync(new URL('../../../data/brown.txt', import.meta.url), 'utf8').slice(0, 40_000);
const tokenizer = trainCharTokenizer(text);
const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
const config: TrainConfig = { ...TRAIN_DEFAULTS, steps: 3, batchSize: 2, blockSize: 16, warmupSteps: 1, evalInterval: 100, evalBatches: 1, gradClip: 1, seed: 5, learningRate: 1e-2, minLearningRate: 1e-3 };
const bucketElements = 2000;

test('FSDP writes a checkpoint mid-run on checkpointInterval; it resumes with 3 workers to the weights of an uninterrupted run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-fsdp-mid-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const modelConfig = { vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 16 };
  // The same global batch of 6 throughout: 1 × 6, 2 × 3, 3 × 2.
  const run4 = { ...config, steps: 4, batchSize: 6 };
  const straight = new GPT(modelConfig, { rng: new Rng(3) });
  await trainLanguageModel({ model: straight, dataset, config: run4, outDir: null, saveModel: () => {} });

  const out = join(dir, 'run');
  const atStep2 = join(dir, 'step2');
  const first = new GPT(modelConfig, { rng: new Rng(3) });
  const written: number[] = [];
  await trainParallel({
    model: first, dataset, config: { ...run4, batchSize: 3, checkpointInterval: 2 }, workers: 2, strategy: 'fsdp', outDir: out, saveModel: (d) => saveGPT(d, first, tokenizer), bucketElements,
    hooks: {
      onCheckpoint: (d, step) => {
        written.push(step);
        if (step === 2) cpSync(d, atStep2, { recursive: true }); // the mid-run checkpoint, before the end overwrites it
      },
    },
  });
  assert.deepEqual(written, [2, 4]);
  assert.equal(loadTrainerState(atStep2).global_step, 2);
  const { model: resumed } = loadGPT(atStep2); // an ordinary folder
  // Really the step-2 state, not the end's: its weights are two steps short of the uninterrupted run's.
  assert.ok(maxWeightDifference(resumed, straight) > 1e-3, `the step-2 checkpoint is ${maxWeightDifference(resumed, straight)} from the final weights`);
  await trainParallel({ model: resumed, dataset, config: { ...run4, batchSize: 2 }, workers: 3, strategy: 'fsdp', outDir: atStep2, saveModel: (d) => saveGPT(d, resumed, tokenizer), resume: true, bucketElements });
  const diff = maxWeightDifference(resumed, straight);
  const uninterrupted = maxWeightDifference(first, straight);
  console.log(`FSDP×2 to its step-2 checkpoint → FSDP×3 (2 steps) vs one process (4 steps): ${diff.toExponential(2)}; FSDP×2 (4 steps) vs one process: ${uninterrupted.toExponential(2)}`);
  assert.ok(diff < 5e-5, `resumed run differs by ${diff}`);
  assert.ok(uninterrupted < 5e-5, `FSDP×2 differs by ${uninterrupted}`);
});
