/**
 * `qkv lab parallel`: DDP vs FSDP (src/train/parallel), what each costs a worker and whether
 * they train the same model.
 *
 * The same tiny character GPT is trained from the same weights on the same Brown text, with the
 * same global batch G split over N workers (G/N rows each): once by the single-process trainer
 * (the reference), then by `trainParallel` for each strategy × worker count. Reported per run:
 * rank 0's counted bytes between steps (resting) and at its peak (DDP holds weights + AdamW m, v
 * and, during the step, gradients on every rank; FSDP shards master weights and AdamW state, so
 * its resting bytes fall as 1/N), throughput, and the largest |Δw| from the reference's final
 * weights (float32 sums in another order: small, never exactly 0 with N > 1).
 *
 * Legend: N = workers, G = global batch, T = block size, P = parameters.
 */
import { GPT } from '../../models/gpt.ts';
import { Rng } from '../../tensor/random.ts';
import { trainCharTokenizer } from '../../tokenizers/char.ts';
import { TokenDataset } from '../../train/data.ts';
import { trainParallel } from '../../train/parallel/launch.ts';
import type { ParallelStrategy } from '../../train/parallel/protocol.ts';
import { evaluateLoss, TRAIN_DEFAULTS, trainLanguageModel, type MetricsRecord, type TrainConfig } from '../../train/trainer.ts';
import { QkvValueError } from '../../tensor/errors.ts';
import { listParam, numberListParam, numberParam, type Experiment, type ExperimentResult } from '../experiment.ts';
import { brownSplit } from './brown-text.ts';
import { maxWeightDifference } from '../../nn/weight-difference.ts';

const MIB = 1024 * 1024;

/** Median per-step tokens/s, from step 2 on: the first step pays for warming up (and workers' start). */
export function steadyTokensPerSecond(history: readonly MetricsRecord[]): number {
  const rates = history.slice(1).map((record) => record.tokens_per_second).sort((a, b) => a - b);
  if (rates.length === 0) return history[0]?.tokens_per_second ?? NaN;
  return rates[Math.floor(rates.length / 2)];
}

export const parallelExperiment: Experiment = {
  name: 'parallel',
  description: 'DDP vs FSDP with 1 and 2 workers at the same global batch: per-worker memory, throughput, and equality of the final weights',
  params: [
    { name: 'workers', description: 'worker counts (each must divide the global batch)', default: '1,2' },
    { name: 'strategies', description: 'strategies to compare', default: 'ddp,fsdp' },
    { name: 'steps', description: 'optimiser steps per run', default: 40, quick: 6 },
    { name: 'global-batch', description: 'sequences per step, split over the workers', default: 8, quick: 4 },
    { name: 'block', description: 'tokens per sequence T', default: 64, quick: 32 },
    { name: 'embd', description: 'n_embd', default: 128, quick: 64 },
    { name: 'layers', description: 'n_layer', default: 2 },
    { name: 'lines', description: 'Brown lines of training text', default: 2000, quick: 400 },
  ],
  async run(params, { seed, onProgress }): Promise<ExperimentResult> {
    const workerCounts = numberListParam(params, 'workers');
    const strategies = listParam(params, 'strategies') as ParallelStrategy[];
    const globalBatch = numberParam(params, 'global-batch');
    for (const workers of workerCounts) {
      if (!Number.isInteger(workers) || workers < 1 || globalBatch % workers !== 0) {
        throw new QkvValueError(`lab parallel: --workers ${workers} must be a positive integer dividing --global-batch ${globalBatch}`);
      }
    }
    const text = brownSplit({ trainLines: numberParam(params, 'lines'), heldOutLines: 50 }).train.join('\n');
    const tokenizer = trainCharTokenizer(text);
    const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.1);
    const block = numberParam(params, 'block');
    const modelConfig = { vocab_size: tokenizer.vocabSize, n_layer: numberParam(params, 'layers'), n_embd: numberParam(params, 'embd'), n_head: 4, n_positions: block, embd_pdrop: 0, resid_pdrop: 0, attn_pdrop: 0 };
    const steps = numberParam(params, 'steps');
    const config: TrainConfig = { ...TRAIN_DEFAULTS, steps, blockSize: block, batchSize: globalBatch, warmupSteps: Math.min(5, steps), evalInterval: steps + 1, evalBatches: 2, seed: seed + 1 };
    const fresh = () => new GPT(modelConfig, { rng: new Rng(seed) });
    // One held-out measure for every run (the trainers' own evaluation draws per-worker-sized batches).
    const heldOutLoss = (model: GPT) => evaluateLoss(model, dataset, config, 4);

    const total = 1 + strategies.length * workerCounts.length;
    const reference = fresh();
    const single = await trainLanguageModel({ model: reference, dataset, config, outDir: null, saveModel: () => {} });
    const paramBytes = reference.parameters().reduce((sum, p) => sum + p.size * 4, 0);
    onProgress(1, total, { run: 'single process' });
    const rows: ExperimentResult['rows'] = [['single process', 1, globalBatch, '—', '—', steadyTokensPerSecond(single.history), 0, heldOutLoss(reference)]];
    const resting = new Map<ParallelStrategy, Array<[number, number]>>();
    let done = 1;
    for (const strategy of strategies) {
      for (const workers of workerCounts) {
        const model = fresh();
        const summary = await trainParallel({ model, dataset, config: { ...config, batchSize: globalBatch / workers }, workers, strategy, outDir: null, saveModel: () => {} });
        const rank0 = summary.workerMemory[0];
        rows.push([strategy, workers, globalBatch / workers, rank0.restingHeldBytes / MIB, rank0.peakHeldBytes / MIB, steadyTokensPerSecond(summary.history), maxWeightDifference(model, reference), heldOutLoss(model)]);
        resting.set(strategy, [...(resting.get(strategy) ?? []), [workers, rank0.restingHeldBytes / MIB]]);
        onProgress(++done, total, { run: `${strategy} ×${workers}` });
      }
    }
    const parallelRows = rows.slice(1);
    const worstDiff = Math.max(...parallelRows.map((row) => row[6] as number));
    const describe = (row: (string | number)[]) => `${row[0]} ×${row[1]}: ${(row[3] as number).toFixed(2)} MiB resting, ${(row[4] as number).toFixed(2)} MiB peak`;
    return {
      columns: ['run', 'workers N', 'batch per worker', 'rank-0 resting MiB', 'rank-0 peak MiB', 'tokens/s (median step)', 'max |Δw| vs single process', 'held-out loss'],
      rows,
      plot: {
        title: `bytes a worker holds between steps (P = ${(paramBytes / MIB).toFixed(2)} MiB of fp32 weights)`, xLabel: 'workers N', yLabel: 'rank-0 resting MiB', kind: 'line',
        series: [...resting.entries()].map(([strategy, points]) => ({ name: strategy, points })),
      },
      findings: [
        `${parallelRows.map(describe).join('; ')} (weights alone: ${(paramBytes / MIB).toFixed(2)} MiB).`,
        `Every run ends within ${worstDiff.toExponential(2)} of the single-process weights after ${steps} steps at global batch ${globalBatch}: the same training, only the memory and the speed differ.`,
      ],
    };
  },
};
