/**
 * `trainParallel`: the language-model training loop of `trainLanguageModel` run by N
 * `worker_threads` workers, data-parallel (`ddp`) or sharded data-parallel (`fsdp`, ZeRO-3);
 * see worker.ts for what each does per step.
 *
 * The launcher keeps the caller's model: it hands its weights (and, resuming, the optimiser
 * state of `optimizer.safetensors`) to the workers, gathers the trained weights and the
 * (sharded) AdamW state back, loads them into the model, and writes one ordinary checkpoint
 * (model folder + optimizer.safetensors + trainer_state.json), the same files the single-worker
 * trainer writes, so a run resumes with any worker count, or none. With `checkpointInterval`,
 * the owners also send their parts after every interval's step and the launcher writes the same
 * checkpoint mid-run while the workers go on.
 *
 * @example
 * const summary = await trainParallel({ model, dataset, config, workers: 2, strategy: 'fsdp', outDir: 'runs/x', saveModel });
 * summary.workerMemory; // bytes each worker held, per rank
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { scatterSegments } from './unit-shards.ts';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CausalLM } from '../../models/causal-lm.ts';
import { GPT } from '../../models/gpt.ts';
import { Llama } from '../../models/llama.ts';
import { AdamW } from '../../optim/index.ts';
import { QkvValueError } from '../../tensor/errors.ts';
import { defaultRng, Rng } from '../../tensor/random.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { loadOptimizerState, loadTrainerState, saveOptimizerState, saveTrainerState } from '../checkpoint.ts';
import type { TokenDataset } from '../data.ts';
import { evaluateLoss, validateTrainConfig, type MetricsRecord, type TrainConfig, type TrainHooks, type TrainSummary } from '../trainer.ts';
import { SharedCollective } from './collective.ts';
import type { LossScalerOptions, LossScalerState, Precision } from '../precision.ts';
import { copyFromFlat, copyToFlat, DEFAULT_BUCKET_ELEMENTS, flatLayout } from './flat-layout.ts';
import { loadFlatOptimizerState, readFlatOptimizerState } from './optimizer-flat.ts';
import { PARALLEL_STRATEGIES, type CheckpointMessage, type DoneMessage, type FlatOptimizerState, type OwnedState, type ParallelStrategy, type StepMessage, type WorkerInit, type WorkerMemory, type WorkerMessage } from './protocol.ts';
import { OverlappedAllReduce } from './overlapped-all-reduce.ts';
import { PrefetchingGather } from './prefetch-gather.ts';
import { shardUnits } from './fsdp-shards.ts';
import { medianTimings, type StepTiming } from './step-timer.ts';

export interface ParallelTrainRun {
  /** A GPT or a Llama; its weights start the run and receive the result. */
  model: CausalLM;
  dataset: TokenDataset;
  /** `batchSize` is per worker: the global batch is workers · batchSize. */
  config: TrainConfig;
  workers: number;
  strategy: ParallelStrategy;
  outDir: string | null;
  saveModel(dir: string): void;
  resume?: boolean;
  hooks?: TrainHooks;
  /** Stop after this many steps of this call, leaving a checkpoint. */
  stopAfterSteps?: number;
  /** Elements per all-reduce bucket (default 2^18). */
  bucketElements?: number;
  /** Collect garbage in each worker before each memory sample, so the measured bytes are live ones (slow). */
  measureMemory?: boolean;
  /** Weight and gradient storage: fp32 (default), bf16 or fp16 (dynamic loss scaling); master weights and AdamW state stay fp32. */
  precision?: Precision;
  lossScaler?: Partial<LossScalerOptions>;
  /** DDP: all-reduce each gradient bucket while backward still runs (overlapped-all-reduce.ts; N gradient vectors of shared memory). Default off: it did not pay on 2 cores (bench/parallel.ts). */
  overlap?: boolean;
  /** FSDP: publish the next block's piece while the current one computes (prefetch-gather.ts; two units of shared memory). Default off: it did not pay on 2 cores (bench/parallel.ts). */
  prefetch?: boolean;
}

/** Whether DDP overlaps its all-reduce with backward, and FSDP prefetches, unless told (measured: bench/parallel.ts). */
export const DEFAULT_OVERLAP = false;
export const DEFAULT_PREFETCH = false;

/** A step's metrics, with the loss scale it ran with and whether it was skipped (fp16 overflow). */
export type ParallelMetricsRecord = MetricsRecord & {
  loss_scale: number;
  skipped: boolean;
  /** Per rank, where the step's time went (forward, backward, gradient communication, gathers, optimiser, waiting). */
  timing: StepTiming[];
};

export interface ParallelTrainSummary extends TrainSummary {
  history: ParallelMetricsRecord[];
  workers: number;
  strategy: ParallelStrategy;
  /** Per rank: bytes held (counted) and the worker isolate's ArrayBuffer / heap peaks (measured). */
  workerMemory: WorkerMemory[];
  precision: Precision;
  /** Steps skipped for a non-finite gradient (fp16 overflow), each halving the loss scale. */
  skippedSteps: number;
  /** Per rank, the median time of each phase over the steps (from the second on, when there are two). */
  timing: StepTiming[];
  overlap: boolean;
  prefetch: boolean;
}

const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(RUNNING_FROM_SOURCE ? './worker.ts' : './worker.js', import.meta.url);

/** Starts worker.ts; from source, the worker registers the TypeScript loader first (loader hooks are per thread). */
function startWorker(init: WorkerInit, env: NodeJS.ProcessEnv): Worker {
  if (!RUNNING_FROM_SOURCE) return new Worker(WORKER_URL, { workerData: init, env });
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init, env, execArgv: [] });
}

/** nanoGPT's grouping, as the single-worker trainer, so optimizer.safetensors interchanges. */
function mainOptimizer(params: Tensor[], config: TrainConfig): AdamW {
  const groups = [{ params: params.filter((p) => p.ndim >= 2) }, { params: params.filter((p) => p.ndim < 2), weightDecay: 0 }].filter((g) => g.params.length > 0);
  return new AdamW(groups, { lr: config.learningRate, betas: [config.beta1, config.beta2], weightDecay: config.weightDecay });
}

function replicaSpec(model: CausalLM): WorkerInit['replica'] {
  if (model instanceof GPT) return { arch: 'gpt', config: { ...model.config } };
  if (model instanceof Llama) return { arch: 'llama', config: { ...model.config } };
  throw new QkvValueError(`trainParallel: ${model.constructor.name} is neither a GPT nor a Llama`);
}

/** The flat weights and AdamW state from the owners' parts (each covers its [start, end)). */
function assemble(parts: readonly OwnedState[], length: number): { params: Float32Array; optimizer: FlatOptimizerState } {
  const params = new Float32Array(length);
  const optimizer: FlatOptimizerState = { step: 0, expAvg: new Float32Array(length), expAvgSq: new Float32Array(length) };
  let covered = 0;
  for (const part of parts) {
    if (part.end === part.start) continue;
    const segments = part.segments ?? [[part.start, part.end]];
    scatterSegments(part.params, segments, params);
    scatterSegments(part.optimizer.expAvg, segments, optimizer.expAvg);
    scatterSegments(part.optimizer.expAvgSq, segments, optimizer.expAvgSq);
    optimizer.step = Math.max(optimizer.step, part.optimizer.step);
    covered += segments.reduce((n, [a, b]) => n + b - a, 0);
  }
  if (covered !== length) throw new QkvValueError(`trainParallel: the workers' parts cover ${covered} of ${length} parameters`);
  return { params, optimizer };
}

export async function trainParallel(run: ParallelTrainRun): Promise<ParallelTrainSummary> {
  const { model, dataset, config, outDir, hooks = {}, workers, strategy } = run;
  validateTrainConfig(config, model.contextLength);
  if (!(Number.isInteger(workers) && workers >= 1)) throw new QkvValueError(`trainParallel: workers must be a positive integer, got ${workers}`);
  if (!PARALLEL_STRATEGIES.includes(strategy)) throw new QkvValueError(`trainParallel: strategy must be one of ${PARALLEL_STRATEGIES.join(', ')}, got "${strategy}"`);
  const params = model.parameters().filter((p) => p.requiresGrad);
  const layout = flatLayout(params.map((p) => p.size), run.bucketElements ?? DEFAULT_BUCKET_ELEMENTS);
  const ranges = new Map<Tensor, [number, number]>(params.map((p, i) => [p, [layout.offsets[i], layout.offsets[i] + layout.sizes[i]]]));
  const optimizer = mainOptimizer(params, config);

  let startStep = 0;
  let bestValLoss: number | null = null;
  const dataRng = new Rng(config.seed);
  let optimizerState: FlatOptimizerState | null = null;
  let lossScalerState: LossScalerState | null = null;
  if (run.resume) {
    if (outDir === null) throw new QkvValueError('trainParallel: resume needs an output directory');
    const state = loadTrainerState(outDir);
    const optimizerStep = loadOptimizerState(outDir, optimizer);
    if (optimizerStep !== state.global_step) throw new QkvValueError(`trainParallel: ${outDir}: optimizer.safetensors is at step ${optimizerStep}, trainer_state.json at ${state.global_step}`);
    optimizerState = readFlatOptimizerState(optimizer, ranges, layout.length);
    dataRng.setState(state.rng.data);
    defaultRng.setState(state.rng.dropout);
    startStep = state.global_step;
    bestValLoss = state.best_val_loss;
    // Written beside the standard fields by a mixed-precision run (see below).
    const saved = (state as { loss_scaler?: LossScalerState & { precision: Precision } }).loss_scaler;
    if (saved !== undefined && saved.precision === (run.precision ?? 'fp32')) lossScalerState = saved;
  } else {
    defaultRng.seed(config.seed);
  }
  const stepsToRun = Math.min(config.steps - startStep, run.stopAfterSteps ?? Infinity);
  const initialParams = new Float32Array(layout.length);
  copyToFlat(layout, params.map((p) => p.data as Float32Array), 0, layout.length, initialParams);

  const shared = SharedCollective.allocate(workers, layout.bucketCapacity);
  const overlap = strategy === 'ddp' && (run.overlap ?? DEFAULT_OVERLAP);
  const prefetch = strategy === 'fsdp' && (run.prefetch ?? DEFAULT_PREFETCH);
  const overlapShared = overlap ? OverlappedAllReduce.allocate(workers, layout) : null;
  let prefetchShared: WorkerInit['prefetchShared'] = null;
  if (prefetch) {
    const { root, blocks } = shardUnits(model, params, layout);
    const largestUnitElements = Math.max(root.elements, ...blocks.map((unit) => unit.elements));
    prefetchShared = { buffer: PrefetchingGather.allocate(largestUnitElements), largestUnitElements };
  }
  const kernelThreads = Math.max(1, Math.floor(availableParallelism() / workers));
  const metricsPath = outDir === null ? null : join(outDir, 'metrics.jsonl');
  if (outDir !== null) mkdirSync(outDir, { recursive: true });
  const tokensPerStep = workers * config.batchSize * config.blockSize * config.gradientAccumulationSteps;
  const history: ParallelMetricsRecord[] = [];
  let skippedSteps = 0;
  const started = performance.now();
  hooks.onStart?.(config, startStep);

  // The owners' parts of a state: DDP rank 0 everything, FSDP every rank its shard.
  const owners = strategy === 'fsdp' ? workers : 1;
  /** Loads the gathered weights into the caller's model and writes one ordinary checkpoint (trainer_state.json last). */
  const writeCheckpoint = (parts: readonly OwnedState[], step: number): void => {
    const { params: flatParams, optimizer: flatState } = assemble(parts, layout.length);
    copyFromFlat(layout, params.map((p) => p.data as Float32Array), 0, layout.length, flatParams);
    if (outDir === null) return;
    const rank0 = parts.find((m) => m.rank === 0)!;
    run.saveModel(outDir);
    loadFlatOptimizerState(optimizer, ranges, flatState);
    saveOptimizerState(outDir, optimizer, step);
    saveTrainerState(outDir, {
      global_step: step,
      max_steps: config.steps,
      rng: { data: rank0.dataRng, dropout: defaultRng.getState() },
      scheduler: { step },
      train_config: { ...config },
      best_val_loss: bestValLoss,
      qkv_version: '0.1.0',
      // The loss scale continues on resume (an extra field; the single-worker trainer ignores it).
      ...{ loss_scaler: { ...rank0.lossScaler, precision: run.precision ?? 'fp32' } },
    });
    hooks.onCheckpoint?.(outDir, step);
  };
  const pending = new Map<number, CheckpointMessage[]>();
  const receiveCheckpoint = (message: CheckpointMessage): void => {
    const parts = pending.get(message.step) ?? [];
    parts.push(message);
    pending.set(message.step, parts);
    if (parts.length < owners) return;
    pending.delete(message.step);
    writeCheckpoint(parts, message.step);
  };

  // A step's record waits for rank 0's step message and every rank's timing (they come on separate ports).
  const arriving = new Map<number, { message: StepMessage | null; timings: StepTiming[] }>();
  const arrivalOf = (step: number) => {
    let entry = arriving.get(step);
    if (entry === undefined) arriving.set(step, (entry = { message: null, timings: [] }));
    return entry;
  };
  const recordStep = (step: number): void => {
    const entry = arriving.get(step)!;
    if (entry.message === null || entry.timings.length < workers) return;
    arriving.delete(step);
    const message = entry.message;
    skippedSteps = message.skippedSteps;
    const record: ParallelMetricsRecord = {
      step: message.step,
      loss: message.loss,
      lr: message.lr,
      grad_norm: message.gradNorm,
      tokens_per_second: tokensPerStep / message.seconds,
      elapsed_s: (performance.now() - started) / 1000,
      loss_scale: message.lossScale,
      skipped: message.skipped,
      timing: entry.timings.sort((a, b) => a.rank - b.rank),
    };
    history.push(record);
    if (metricsPath !== null) appendFileSync(metricsPath, JSON.stringify(record) + '\n');
    hooks.onStep?.(record);
  };

  const done: DoneMessage[] = [];
  await Promise.all(
    Array.from({ length: workers }, (_, rank) => {
      const init: WorkerInit = {
        shared, rank, worldSize: workers, bucketElements: run.bucketElements ?? DEFAULT_BUCKET_ELEMENTS, strategy, overlapShared, prefetchShared, replica: replicaSpec(model),
        params: initialParams, optimizer: optimizerState, trainTokens: dataset.train, config, startStep, stepsToRun,
        dataRng: dataRng.getState(), kernelThreads, collectGarbage: run.measureMemory ?? false,
        precision: run.precision ?? 'fp32', lossScaler: run.lossScaler ?? {}, lossScalerState,
      };
      return new Promise<void>((resolve, reject) => {
        const worker = startWorker(init, { ...process.env, QKV_THREADS: String(kernelThreads) });
        worker.on('message', (message: WorkerMessage) => {
          if (message.type === 'done') {
            done.push(message);
            return;
          }
          if (message.type === 'checkpoint') {
            receiveCheckpoint(message);
            return;
          }
          if (message.type === 'timing') arrivalOf(message.step).timings.push(message.timing);
          else arrivalOf(message.step).message = message;
          recordStep(message.step);
        });
        worker.on('error', (error) => reject(new QkvValueError(`trainParallel: worker ${rank} (${strategy}) failed: ${error.message}`)));
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new QkvValueError(`trainParallel: worker ${rank} exited with code ${code}`))));
      });
    }),
  );
  const wallTimeSeconds = (performance.now() - started) / 1000;

  const step = startStep + stepsToRun;
  const owned = done.filter((m) => m.end > m.start);
  const rank0 = done.find((m) => m.rank === 0)!;
  dataRng.setState(rank0.dataRng);
  // The final weights go into the model first: the held-out loss is the trained model's.
  copyFromFlat(layout, params.map((p) => p.data as Float32Array), 0, layout.length, assemble(owned, layout.length).params);
  const lastValLoss = evaluateLoss(model, dataset, config, config.evalBatches);
  bestValLoss = bestValLoss === null ? lastValLoss : Math.min(bestValLoss, lastValLoss);
  if (history.length > 0) history[history.length - 1].val_loss = lastValLoss;
  if (outDir !== null) writeCheckpoint(owned, step);
  const workerMemory = done.map((m) => m.memory).sort((a, b) => a.rank - b.rank);
  return {
    steps: step,
    finalLoss: history.at(-1)?.loss ?? NaN,
    finalValLoss: lastValLoss,
    tokensPerSecond: (stepsToRun * tokensPerStep) / wallTimeSeconds,
    wallTimeSeconds,
    peakRssBytes: process.memoryUsage().rss,
    interrupted: false,
    history,
    workers,
    strategy,
    workerMemory,
    precision: run.precision ?? 'fp32',
    skippedSteps,
    timing: medianTimings(history.slice(history.length > 1 ? 1 : 0).map((record) => record.timing)),
    overlap,
    prefetch,
  };
}
