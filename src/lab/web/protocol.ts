/** The messages between the lab page and its compute worker (./page-main.ts ↔ ./worker-main.ts). */
import type { ParamSpec } from '../experiment.ts';
import type { ThreadCheck } from './thread-check.ts';

/**
 * Experiments that need the terminal: they read or write model folders on disk, or start
 * Node worker threads of their own. Listed in the page, not runnable there.
 */
export const TERMINAL_ONLY: readonly string[] = ['quantize', 'parallel'];

export interface ExperimentInfo {
  name: string;
  description: string;
  params: ParamSpec[];
  terminalOnly: boolean;
}

/** Where the worker's compute runs, as `getKernelInfo` says, plus what the browser allowed. */
export interface KernelStatus {
  backend: 'native' | 'wasm' | 'reference';
  /** 'relaxed' | 'simd' on wasm. */
  simd: string | null;
  threads: number;
  /** The kernel threads (nested workers) all started. */
  threadsRunning: boolean;
  crossOriginIsolated: boolean;
  fallbackReason: string | null;
  /** Kernel chunks run by the helper threads so far. */
  workerChunks: number;
  /** One split matmul at start-up, checked against float64 (./thread-check.ts); null off wasm. */
  threadCheck: ThreadCheck | null;
}

export type ToWorker =
  | { type: 'init'; threads?: number }
  | { type: 'run'; name: string; params: Record<string, string>; seed: number };

export type FromWorker =
  | { type: 'ready'; kernels: KernelStatus; experiments: ExperimentInfo[] }
  | { type: 'progress'; done: number; total: number; fields: Record<string, string | number> }
  | {
    type: 'result'; name: string; seconds: number; columns: string[]; rows: Array<Array<string | number>>;
    findings: string[]; svg: string; workerChunks: number; kernels: KernelStatus;
  }
  | { type: 'error'; message: string };
