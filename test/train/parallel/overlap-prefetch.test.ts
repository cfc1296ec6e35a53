import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GPT, type GPTConfig } from '../../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../../src/tokenizers/char.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { TokenDataset } from '../../../src/train/data.ts';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../../src/train/trainer.ts';
import { trainParallel, type ParallelTrainSummary } from '../../../src/train/parallel/launch.ts';
import { maxWeightDifference } from '../../../src/nn/weight-difference.ts';
import { STEP_PHASES, TIMING_FIELDS } from '../../../src/train/parallel/step-timer.ts';

const text = readFileSync(new URL('../../../data/brown.txt', import.meta.url), 'utf8').slice(0, 40_000);
const tokenizer = trainCharTokenizer(text);
const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
// Dropout on and 2 micro-batches: the hooks must report only the last micro-batch's sums, the prefetch schedule must cover both.
const modelConfig: Partial<GPTConfig> & { vocab_size: number } = { vocab_size: tokenizer.vocabSize, n_layer: 3, n_embd: 32, n_head: 2, n_positions: 16, attn_pdrop: 0.1, resid_pdrop: 0.1 };
const config: TrainConfig = { ...TRAIN_DEFAULTS, steps: 3, batchSize: 2, blockSize: 16, warmupSteps: 1, evalInterval: 100, evalBatches: 1, gradClip: 1, seed: 7, learningRate: 1e-2, minLearningRate: 1e-3, gradientAccumulationSteps: 2 };
const bucketElements = 3000;

async function train(options: { strategy: 'ddp' | 'fsdp'; overlap?: boolean; prefetch?: boolean; precision?: 'fp32' | 'bf16' }): Promise<{ model: GPT; summary: ParallelTrainSummary }> {
  const model = new GPT(modelConfig, { rng: new Rng(3) });
  const summary = await trainParallel({ model, dataset, config, workers: 2, outDir: null, saveModel: () => {}, bucketElements, ...options });
  return { model, summary };
}

function checkTimings(summary: ParallelTrainSummary, label: string): void {
  for (const record of summary.history) {
    assert.deepEqual(record.timing.map((t) => t.rank), [0, 1], `${label} step ${record.step}`);
    for (const timing of record.timing) {
      const sum = STEP_PHASES.reduce((n, phase) => n + timing[TIMING_FIELDS[phase]], 0);
      assert.ok(Math.abs(sum - timing.step_ms) < 1e-6, `${label}: phases sum to ${sum}, step ${timing.step_ms}`);
      for (const phase of STEP_PHASES) assert.ok(timing[TIMING_FIELDS[phase]] >= 0, `${label} ${phase}`);
      // The launcher's own clock for the step (rank 0's) brackets the timed part.
      if (timing.rank === 0) assert.ok(timing.step_ms <= (config.batchSize * 2 * config.blockSize * 2 / record.tokens_per_second) * 1000 + 1, `${label}: timed ${timing.step_ms} ms`);
      assert.ok(timing.forward_ms > 0 && timing.backward_ms > 0 && timing.grad_comm_ms > 0 && timing.optimizer_ms > 0, `${label}: ${JSON.stringify(timing)}`);
    }
  }
  assert.equal(summary.timing.length, 2);
}

test('DDP with the all-reduce overlapped with backward gives the same bits as after backward (fp32 and bf16); per-step timing per rank', async () => {
  for (const precision of ['fp32', 'bf16'] as const) {
    const plain = await train({ strategy: 'ddp', overlap: false, precision });
    const overlapped = await train({ strategy: 'ddp', overlap: true, precision });
    assert.equal(overlapped.summary.overlap, true);
    const moved = maxWeightDifference(plain.model, new GPT(modelConfig, { rng: new Rng(3) }));
    assert.ok(moved > 1e-2, `training moved the weights by ${moved}`);
    assert.equal(maxWeightDifference(overlapped.model, plain.model), 0, `${precision}: overlap changed the weights`);
    overlapped.summary.history.forEach((r, i) => assert.equal(r.loss, plain.summary.history[i].loss));
    checkTimings(overlapped.summary, `ddp overlap ${precision}`);
    for (const record of plain.summary.history) for (const timing of record.timing) assert.equal(timing.gather_ms, 0);
  }
});

test('FSDP with prefetched gathers gives the same bits as lock-step gathers; gathers are timed', async () => {
  const plain = await train({ strategy: 'fsdp', prefetch: false });
  const prefetched = await train({ strategy: 'fsdp', prefetch: true });
  assert.equal(prefetched.summary.prefetch, true);
  assert.equal(maxWeightDifference(prefetched.model, plain.model), 0, 'prefetch changed the weights');
  checkTimings(prefetched.summary, 'fsdp prefetch');
  checkTimings(plain.summary, 'fsdp');
  for (const record of prefetched.summary.history) for (const timing of record.timing) assert.ok(timing.gather_ms > 0);
  // And FSDP still trains DDP's weights.
  const ddp = await train({ strategy: 'ddp' });
  assert.ok(maxWeightDifference(prefetched.model, ddp.model) < 5e-5);
});
