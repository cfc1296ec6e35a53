/**
 * The language-model training loop, nanoGPT-style: random (B, T) windows, AdamW with decoupled
 * weight decay on matrices only, linear warm-up then cosine decay, gradient clipping (the norm
 * is reported), gradient accumulation, periodic evaluation and checkpoints, and a clean stop on
 * SIGINT (a checkpoint is saved first). Progress goes to a bar, a JSONL metrics log, and the
 * returned summary (tokens/s, wall time, peak memory).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CausalLM } from '../models/causal-lm.ts';
import { AdamW, LRScheduler, clipGradNorm, warmupCosineSchedule } from '../optim/index.ts';
import { noGrad } from '../tensor/autograd.ts';
import { releaseLinear16Activations, withLinearPrecision } from '../nn/linear16.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng, defaultRng } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { loadOptimizerState, saveOptimizerState, saveTrainerState, loadTrainerState, type TrainerState } from './checkpoint.ts';
import type { TokenDataset } from './data.ts';
import { LossScaler, unscaleGradients, type LossScalerOptions, type LossScalerState, type Precision } from './precision.ts';

/**
 * What the loop needs of a model: a Module whose forward maps (B, T) ids and targets to a loss.
 * Every CausalLM is one; so are the seq2seq models (ids = source, targets = labels).
 */
export type TrainableModel = Pick<CausalLM, 'forward' | 'contextLength' | 'parameters' | 'training'> & { train(mode?: boolean): unknown; eval(): unknown };

/** Where batches come from: a TokenDataset, or any source of (ids, targets) batches (seq2seq pairs). */
export type BatchSource = Pick<TokenDataset, 'sampleBatch'>;

/**
 * A batch may carry more forward inputs than ids and targets (BERT: attention mask, segment ids,
 * NSP labels); they are passed to the model's forward beside the targets.
 */
type BatchWithForwardOptions = { forwardOptions?: Record<string, unknown> };

export interface TrainConfig {
  /** Optimiser steps. */
  steps: number;
  /** Sequences per micro-batch (B). */
  batchSize: number;
  /** Tokens per sequence (T); at most the model's context length. */
  blockSize: number;
  /** Micro-batches summed into one optimiser step. */
  gradientAccumulationSteps: number;
  /** Peak learning rate, reached after warm-up. */
  learningRate: number;
  /** Floor of the cosine decay (nanoGPT: learningRate / 10). */
  minLearningRate: number;
  warmupSteps: number;
  /** Decoupled weight decay, applied to matrices only (not biases, norms). */
  weightDecay: number;
  beta1: number;
  beta2: number;
  /** Clip the global gradient norm to this (0 = no clipping; the norm is still reported). */
  gradClip: number;
  /** Evaluate the held-out loss every N steps (and at the end). */
  evalInterval: number;
  /** Batches averaged per evaluation. */
  evalBatches: number;
  /** Save a checkpoint every N steps (0 = only at the end). */
  checkpointInterval: number;
  seed: number;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  steps: 1000,
  batchSize: 16,
  blockSize: 128,
  gradientAccumulationSteps: 1,
  learningRate: 3e-3,
  minLearningRate: 3e-4,
  warmupSteps: 50,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.99,
  gradClip: 1.0,
  evalInterval: 100,
  evalBatches: 8,
  checkpointInterval: 0,
  seed: 1337,
};

export interface MetricsRecord {
  step: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens_per_second: number;
  elapsed_s: number;
  val_loss?: number;
  /** bf16|fp16 runs: the loss scale the step ran with (fp16: dynamic; bf16: 1). */
  loss_scale?: number;
  /** bf16|fp16 runs: the step was skipped for a non-finite gradient (fp16 overflow). */
  skipped?: boolean;
}

export interface TrainSummary {
  steps: number;
  finalLoss: number;
  finalValLoss: number;
  tokensPerSecond: number;
  wallTimeSeconds: number;
  peakRssBytes: number;
  interrupted: boolean;
  history: MetricsRecord[];
  /** The precision the run used (absent from runs that predate it). */
  precision?: Precision;
  /** Steps skipped for a non-finite gradient, each halving the fp16 loss scale (0 for fp32/bf16). */
  skippedSteps?: number;
  /** The loss scale at the end of the run (1 unless fp16). */
  lossScale?: number;
}

export interface TrainHooks {
  /** Called once before the first step with the resolved config and the step it starts from. */
  onStart?(config: TrainConfig, startStep: number): void;
  /** Called after each optimiser step (progress bars). */
  onStep?(record: MetricsRecord): void;
  /** Called after each evaluation. */
  onEval?(record: MetricsRecord): void;
  /** Called with each checkpoint directory after it is written. */
  onCheckpoint?(dir: string, step: number): void;
}

export interface TrainRun {
  model: TrainableModel;
  dataset: BatchSource;
  config: TrainConfig;
  /** Where checkpoints and `metrics.jsonl` go (null: keep nothing on disk). */
  outDir: string | null;
  /** Writes the model folder (config.json, model.safetensors, tokenizer.json, …) into a directory. */
  saveModel(dir: string): void;
  /** Continue from the checkpoint in outDir. */
  resume?: boolean;
  hooks?: TrainHooks;
  /** Stop after this many steps of this call (tests of resume), leaving a checkpoint. */
  stopAfterSteps?: number;
  /** bf16|fp16: Linear/Conv1D products on 16-bit copies, inputs kept 16-bit for backward (src/nn/linear16.ts); default fp32. */
  precision?: Precision;
  /** fp16 dynamic loss scaling (default: GradScaler's initScale 2^16, growthInterval 2000). */
  lossScaler?: Partial<LossScalerOptions>;
}

export function validateTrainConfig(config: TrainConfig, contextLength: number): void {
  const positiveIntegers = ['steps', 'batchSize', 'blockSize', 'gradientAccumulationSteps', 'evalInterval', 'evalBatches'] as const;
  for (const field of positiveIntegers) {
    if (!Number.isInteger(config[field]) || config[field] <= 0) throw new QkvValueError(`train: ${field} must be a positive integer, got ${config[field]}`);
  }
  if (config.blockSize > contextLength) throw new QkvValueError(`train: blockSize ${config.blockSize} exceeds the model's context length ${contextLength}`);
  if (!(config.learningRate > 0)) throw new QkvValueError(`train: learningRate must be > 0, got ${config.learningRate}`);
  if (!(config.minLearningRate >= 0 && config.minLearningRate <= config.learningRate)) {
    throw new QkvValueError(`train: minLearningRate must be in [0, learningRate], got ${config.minLearningRate}`);
  }
  if (!Number.isInteger(config.warmupSteps) || config.warmupSteps < 0 || config.warmupSteps > config.steps) {
    throw new QkvValueError(`train: warmupSteps must be an integer in [0, steps], got ${config.warmupSteps}`);
  }
  if (!Number.isInteger(config.checkpointInterval) || config.checkpointInterval < 0) {
    throw new QkvValueError(`train: checkpointInterval must be an integer ≥ 0, got ${config.checkpointInterval}`);
  }
}

/** Mean held-out loss over `batches` batches drawn with a fixed seed, so evaluations compare. */
export function evaluateLoss(model: TrainableModel, dataset: BatchSource, config: Pick<TrainConfig, 'batchSize' | 'blockSize' | 'seed'>, batches: number): number {
  const wasTraining = model.training;
  model.eval();
  const rng = new Rng(config.seed + 1);
  let total = 0;
  noGrad(() => {
    for (let i = 0; i < batches; i++) {
      const batch = dataset.sampleBatch('validation', config.batchSize, config.blockSize, rng);
      total += model.forward(batch.ids, { ...(batch as BatchWithForwardOptions).forwardOptions, targets: batch.targets }).loss!.item();
    }
  });
  if (wasTraining) model.train();
  return total / batches;
}

/** nanoGPT's grouping: weight decay on matrices (ndim ≥ 2), none on biases and norm gains. */
function parameterGroups(model: TrainableModel): { params: Tensor[]; weightDecay?: number }[] {
  const params = model.parameters().filter((p) => p.requiresGrad);
  return [{ params: params.filter((p) => p.ndim >= 2) }, { params: params.filter((p) => p.ndim < 2), weightDecay: 0 }].filter(
    (group) => group.params.length > 0,
  );
}

export async function trainLanguageModel(run: TrainRun): Promise<TrainSummary> {
  const { model, dataset, config, outDir, hooks = {} } = run;
  validateTrainConfig(config, model.contextLength);
  const optimizer = new AdamW(parameterGroups(model), {
    lr: config.learningRate,
    betas: [config.beta1, config.beta2],
    weightDecay: config.weightDecay,
  });
  const scheduler = new LRScheduler(
    optimizer,
    warmupCosineSchedule({ maxLr: config.learningRate, minLr: config.minLearningRate, warmupSteps: config.warmupSteps, totalSteps: config.steps }),
  );
  const dataRng = new Rng(config.seed);
  const precision = run.precision ?? 'fp32';
  const scaler = new LossScaler(precision, run.lossScaler);
  let startStep = 0;
  let bestValLoss: number | null = null;
  if (run.resume) {
    if (outDir === null) throw new QkvValueError('train: resume needs an output directory');
    const state = loadTrainerState(outDir);
    const optimizerStep = loadOptimizerState(outDir, optimizer);
    if (optimizerStep !== state.global_step) {
      throw new QkvValueError(`train: checkpoint in ${outDir} is inconsistent: optimizer.safetensors is at step ${optimizerStep}, trainer_state.json at ${state.global_step}`);
    }
    scheduler.loadStateDict(state.scheduler);
    dataRng.setState(state.rng.data);
    defaultRng.setState(state.rng.dropout);
    startStep = state.global_step;
    bestValLoss = state.best_val_loss;
    // Written beside the standard fields by a 16-bit run (below); another precision starts afresh.
    const saved = (state as { loss_scaler?: LossScalerState & { precision: Precision } }).loss_scaler;
    if (saved !== undefined && saved.precision === precision) scaler.loadState(saved);
  } else {
    defaultRng.seed(config.seed);
  }

  const metricsPath = outDir === null ? null : join(outDir, 'metrics.jsonl');
  if (outDir !== null) mkdirSync(outDir, { recursive: true });
  const saveCheckpoint = (step: number): void => {
    if (outDir === null) return;
    run.saveModel(outDir);
    saveOptimizerState(outDir, optimizer, step);
    const state: TrainerState = {
      global_step: step,
      max_steps: config.steps,
      rng: { data: dataRng.getState(), dropout: defaultRng.getState() },
      scheduler: scheduler.stateDict(),
      train_config: { ...config },
      best_val_loss: bestValLoss,
      qkv_version: '0.1.0',
      ...(precision === 'fp32' ? {} : { loss_scaler: { ...scaler.state(), precision } }),
    };
    saveTrainerState(outDir, state); // last: it marks the checkpoint complete
    hooks.onCheckpoint?.(outDir, step);
  };

  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);

  const tokensPerStep = config.batchSize * config.blockSize * config.gradientAccumulationSteps;
  const history: MetricsRecord[] = [];
  const started = performance.now();
  let peakRssBytes = process.memoryUsage().rss;
  let lastLoss = NaN;
  let lastValLoss = NaN;
  let step = startStep;
  let stepsThisCall = 0;
  model.train();
  hooks.onStart?.(config, startStep);
  try {
    while (step < config.steps) {
      const stepStarted = performance.now();
      let loss = 0;
      const lossScale = scaler.scale; // 1 unless fp16
      for (let micro = 0; micro < config.gradientAccumulationSteps; micro++) {
        const batch = dataset.sampleBatch('train', config.batchSize, config.blockSize, dataRng);
        // Backward runs inside too: its closures read the 16-bit copies forward kept either way.
        loss += withLinearPrecision(precision, () => {
          const out = model.forward(batch.ids, { ...(batch as BatchWithForwardOptions).forwardOptions, targets: batch.targets });
          const scaled = out.loss!.mul(lossScale / config.gradientAccumulationSteps); // micro-batches sum to the mean
          // Nothing of this step's graph is read after backward but the loss itself, so its
          // activations go back to the buffer pool for the next step.
          // 16-bit: the products' fp32 outputs that only add/sub read go back to the pool now (their fp32
          // inputs are not in the graph at all: the products keep 16-bit copies, src/nn/linear16.ts).
          const released = precision === 'fp32' ? [] : releaseLinear16Activations(scaled);
          scaled.backward({ releaseActivations: true, keep: released });
          return scaled.item() / lossScale;
        }, { recycle: true }); // the graph is done with here: its 16-bit copies go back to their pool
      }
      const params = optimizer.paramGroups.flatMap((group) => group.params);
      unscaleGradients(params, lossScale);
      const gradNorm = clipGradNorm(params, config.gradClip > 0 ? config.gradClip : Infinity);
      const lr = optimizer.lr;
      // A non-finite norm (an fp16 gradient overflowed to ±inf) skips the step and halves the scale.
      // (fp32 steps as it always has: no scaler.)
      const applied = precision === 'fp32' ? true : scaler.update(Number.isFinite(gradNorm));
      if (applied) optimizer.step();
      optimizer.zeroGrad({ recycle: true }); // nothing here keeps a .grad: the next backward reuses the buffers
      scheduler.step();
      step++;
      stepsThisCall++;
      lastLoss = loss;
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
      const record: MetricsRecord = {
        step,
        loss,
        lr,
        grad_norm: gradNorm,
        tokens_per_second: tokensPerStep / ((performance.now() - stepStarted) / 1000),
        elapsed_s: (performance.now() - started) / 1000,
        ...(precision === 'fp32' ? {} : { loss_scale: lossScale, skipped: !applied }),
      };
      if (step % config.evalInterval === 0 || step === config.steps) {
        lastValLoss = evaluateLoss(model, dataset, config, config.evalBatches);
        record.val_loss = lastValLoss;
        bestValLoss = bestValLoss === null ? lastValLoss : Math.min(bestValLoss, lastValLoss);
        hooks.onEval?.(record);
      }
      history.push(record);
      if (metricsPath !== null) appendFileSync(metricsPath, JSON.stringify(record) + '\n');
      hooks.onStep?.(record);
      const stopHere = run.stopAfterSteps !== undefined && stepsThisCall >= run.stopAfterSteps;
      if (config.checkpointInterval > 0 && step % config.checkpointInterval === 0 && step !== config.steps && !stopHere) saveCheckpoint(step);
      // Let signals in: the step itself is synchronous.
      await new Promise((resolve) => setImmediate(resolve));
      if (interrupted || stopHere) break;
    }
    saveCheckpoint(step);
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  const wallTimeSeconds = (performance.now() - started) / 1000;
  return {
    steps: step,
    finalLoss: lastLoss,
    finalValLoss: lastValLoss,
    tokensPerSecond: (stepsThisCall * tokensPerStep) / wallTimeSeconds,
    wallTimeSeconds,
    peakRssBytes,
    interrupted,
    history,
    precision,
    skippedSteps: scaler.skippedSteps,
    lossScale: scaler.scale,
  };
}
