/**
 * `qkv start` (what `npm start` runs): the main job on an embedded default.
 *
 * Until the GPT trainer lands this is a real, small training run of the engine: a two-layer
 * MLP fits a wiggly 1-D curve with AdamW, warm-up + cosine schedule and gradient clipping,
 * showing a progress bar and the held-out loss falling against the predict-the-mean baseline;
 * then a tiny network learns XOR.
 */
import type { Command } from 'commander';
import { Linear, Sequential, Tanh } from '../nn/index.ts';
import { AdamW, LRScheduler, clipGradNorm, warmupCosineSchedule } from '../optim/index.ts';
import { noGrad } from '../tensor/autograd.ts';
import { binaryCrossEntropyWithLogits, mseLoss } from '../tensor/ops/loss.ts';
import { Rng, manualSeed } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import { createProgress } from './progress.ts';

/** The curve the MLP learns: smooth but not something a line can fit. */
function target(x: number): number {
  return Math.sin(2 * x) + 0.5 * x * Math.cos(3 * x);
}

function sampleCurve(rng: Rng, count: number): { x: Tensor; y: Tensor } {
  const xs = Array.from({ length: count }, () => rng.uniformRange(-2, 2));
  return { x: Tensor.from(xs, [count, 1]), y: Tensor.from(xs.map(target), [count, 1]) };
}

export interface CurveFitResult {
  baselineLoss: number;
  initialLoss: number;
  finalLoss: number;
  history: { step: number; trainLoss: number; evalLoss: number; lr: number; gradNorm: number }[];
}

export function fitCurve(options: { steps: number; batchSize: number; seed: number; silent: boolean; log: (line: string) => void }): CurveFitResult {
  manualSeed(options.seed);
  const rng = new Rng(options.seed);
  const model = new Sequential(new Linear(1, 64), new Tanh(), new Linear(64, 64), new Tanh(), new Linear(64, 1));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 1e-4 });
  const scheduler = new LRScheduler(optimizer, warmupCosineSchedule({ maxLr: 1e-2, minLr: 1e-4, warmupSteps: 100, totalSteps: options.steps }));
  const heldOut = sampleCurve(new Rng(options.seed + 1), 512);
  const heldOutMean = heldOut.y.mean().item();
  const baselineLoss = noGrad(() => mseLoss(Tensor.full(heldOut.y.shape, heldOutMean), heldOut.y).item());
  const evaluate = () => noGrad(() => mseLoss(model.forward(heldOut.x), heldOut.y).item());

  const initialLoss = evaluate();
  const history: CurveFitResult['history'] = [];
  options.log(`fitting y = sin(2x) + 0.5·x·cos(3x) with an MLP of ${model.numParameters()} parameters (${options.steps} AdamW steps, batch ${options.batchSize})`);
  options.log(`held-out MSE: predicting the mean ${baselineLoss.toFixed(4)}, untrained model ${initialLoss.toFixed(4)}`);
  options.log('  step   train MSE    held-out MSE   lr        grad norm');
  const progress = createProgress({ total: options.steps, fields: ['loss', 'lr'], silent: options.silent });
  for (let step = 0; step < options.steps; step++) {
    const batch = sampleCurve(rng, options.batchSize);
    const loss = mseLoss(model.forward(batch.x), batch.y);
    loss.backward();
    const gradNorm = clipGradNorm(model.parameters(), 1.0);
    const lr = optimizer.lr;
    optimizer.step();
    optimizer.zeroGrad();
    scheduler.step();
    const trainLoss = loss.item();
    progress.update(step + 1, { loss: trainLoss.toFixed(4), lr: lr.toExponential(2) });
    if ((step + 1) % Math.max(1, Math.floor(options.steps / 8)) === 0 || step === options.steps - 1) {
      const evalLoss = evaluate();
      history.push({ step: step + 1, trainLoss, evalLoss, lr, gradNorm });
      progress.stop();
      options.log(`  ${String(step + 1).padStart(5)}  ${trainLoss.toFixed(5).padStart(9)}  ${evalLoss.toFixed(5).padStart(12)}    ${lr.toExponential(2)}  ${gradNorm.toFixed(3)}`);
      if (step < options.steps - 1) progress.update(step + 1);
    }
  }
  progress.stop();
  const finalLoss = evaluate();
  options.log(`held-out MSE ${finalLoss.toFixed(5)}: ${(baselineLoss / finalLoss).toFixed(0)}× below the predict-the-mean baseline`);
  return { baselineLoss, initialLoss, finalLoss, history };
}

export function learnXor(options: { steps: number; seed: number; log: (line: string) => void }): { probabilities: number[]; accuracy: number } {
  manualSeed(options.seed);
  const inputs = Tensor.from([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const labels = Tensor.from([[0], [1], [1], [0]]);
  const model = new Sequential(new Linear(2, 8), new Tanh(), new Linear(8, 1));
  const optimizer = new AdamW(model.parameters(), { lr: 0.05, weightDecay: 0 });
  for (let step = 0; step < options.steps; step++) {
    const loss = binaryCrossEntropyWithLogits(model.forward(inputs), labels);
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
  }
  const probabilities = noGrad(() => model.forward(inputs).sigmoid().toArray());
  const accuracy = probabilities.filter((p, i) => (p > 0.5 ? 1 : 0) === labels.data[i]).length / 4;
  options.log(`XOR after ${options.steps} steps: p(1) for 00, 01, 10, 11 = ${probabilities.map((p) => p.toFixed(3)).join(', ')} (accuracy ${accuracy * 100}%)`);
  return { probabilities, accuracy };
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('the main job on an embedded default: train a small model and show it working (what `npm start` runs)')
    .option('--steps <n>', 'optimiser steps for the curve fit', (value) => Number.parseInt(value, 10), 2000)
    .option('--seed <n>', 'random seed', (value) => Number.parseInt(value, 10), 0)
    .option('--json', 'print one JSON object with the results instead of text')
    .action((options: { steps: number; seed: number; json?: boolean }) => {
      const log = options.json ? () => {} : (line: string) => console.log(line);
      const curve = fitCurve({ steps: options.steps, batchSize: 128, seed: options.seed, silent: Boolean(options.json), log });
      const xor = learnXor({ steps: 400, seed: options.seed, log });
      if (options.json) console.log(JSON.stringify({ curve, xor }));
    });
}
