/**
 * What the launcher (`trainParallel`) and its workers (`worker.ts`) send each other. Everything
 * here is structured-cloneable: flat Float32Arrays of the parameter vector (FlatLayout order),
 * plain configs, Rng states.
 */
import type { RngState } from '../../tensor/random.ts';
import type { TrainConfig } from '../trainer.ts';
import type { LossScalerOptions, LossScalerState, Precision } from '../precision.ts';
import type { StepTiming } from './step-timer.ts';

export type ParallelStrategy = 'ddp' | 'fsdp';
export const PARALLEL_STRATEGIES: readonly ParallelStrategy[] = ['ddp', 'fsdp'];

/** How a worker rebuilds the model: the architecture and its config.json fields. */
export interface ReplicaSpec {
  arch: 'gpt' | 'llama';
  config: Record<string, unknown>;
}

/** AdamW state over the flat vector (all parameters step together, so one step count). */
export interface FlatOptimizerState {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
}

export interface WorkerInit {
  shared: SharedArrayBuffer;
  rank: number;
  worldSize: number;
  bucketElements: number;
  strategy: ParallelStrategy;
  /** DDP: all-reduce each bucket as backward finishes it (overlapped-all-reduce.ts); null: one all-reduce after backward. */
  overlapShared: SharedArrayBuffer | null;
  /** FSDP: gather with prefetch (prefetch-gather.ts); null: lock-step gathers. */
  prefetchShared: { buffer: SharedArrayBuffer; largestUnitElements: number } | null;
  replica: ReplicaSpec;
  /** The starting weights, flat. */
  params: Float32Array;
  /** Optimiser state to resume from (null: a fresh AdamW). */
  optimizer: FlatOptimizerState | null;
  /** The training split's token ids. */
  trainTokens: Int32Array;
  config: TrainConfig;
  startStep: number;
  /** Steps to run in this call (the rest of the run, or `stopAfterSteps`). */
  stepsToRun: number;
  /** The data sampler's state: every worker draws the same global batch and keeps its rows. */
  dataRng: RngState;
  /** Kernel threads for this worker (cores / workers). */
  kernelThreads: number;
  /** Collect garbage before each memory sample (measurement runs; slow). */
  collectGarbage: boolean;
  /** Weight and gradient storage (fp32 master weights and AdamW state either way). */
  precision: Precision;
  lossScaler: Partial<LossScalerOptions>;
  /** The scaler's state at the checkpoint being resumed (null: start at initScale). */
  lossScalerState: LossScalerState | null;
}

/** Bytes a worker held, counted from its arrays, and measured (`process.memoryUsage().arrayBuffers`, per isolate). */
export interface WorkerMemory {
  rank: number;
  /** Largest sum of parameter + gradient + optimiser-state + shard bytes at any point of a step. */
  peakHeldBytes: number;
  /** Bytes held between steps (what stays resident). */
  restingHeldBytes: number;
  /** Peak of this worker's own ArrayBuffer bytes (its isolate), sampled around each phase. */
  peakArrayBufferBytes: number;
  /** Peak of this worker's V8 heap. */
  peakHeapUsedBytes: number;
}

export interface StepMessage {
  type: 'step';
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  seconds: number;
  /** The loss scale this step ran with (1 unless fp16). */
  lossScale: number;
  /** Whether the step was skipped for a non-finite gradient. */
  skipped: boolean;
  skippedSteps: number;
}

/** Every rank, every step: where its step's time went (step-timer.ts). */
export interface TimingMessage {
  type: 'timing';
  step: number;
  timing: StepTiming;
}

/** What one rank owns of the run's state at a step: the flat range [start, end) of weights and AdamW state. */
export interface OwnedState {
  rank: number;
  /** The flat range this message's arrays cover (DDP rank 0: everything; FSDP: the rank's shard). */
  start: number;
  end: number;
  /** FSDP: the flat [start, end) runs the arrays hold, end to end (absent: the one run [start, end)). */
  segments?: [number, number][];
  params: Float32Array;
  optimizer: FlatOptimizerState;
  dataRng: RngState;
  lossScaler: LossScalerState;
}

/** A checkpoint the trainer's `checkpointInterval` asks for mid-run: every owner sends its part after that step. */
export interface CheckpointMessage extends OwnedState {
  type: 'checkpoint';
  step: number;
}

export interface DoneMessage extends OwnedState {
  type: 'done';
  memory: WorkerMemory;
}

export type WorkerMessage = StepMessage | TimingMessage | CheckpointMessage | DoneMessage;
