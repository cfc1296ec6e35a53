/**
 * The kernels the tensor engine calls. `matmul` runs float32 on the WebAssembly SIMD sgemm across
 * worker threads, and everything else (float64, mixed storage) on the plain TypeScript reference,
 * which stays the oracle the fast path is tested against.
 *
 * Legend (as in ./types.ts): B = batch, T = time, C = channels, V = vocab, NH = heads,
 * hs = head size; M, N, K are the matmul sizes (M×K times K×N).
 *
 * @example
 * import { matmul, getKernelInfo } from './kernels/index.ts';
 * const a = new Float32Array(2 * 3), b = new Float32Array(3 * 4), out = new Float32Array(2 * 4);
 * matmul(a, b, out, { batch: 1, m: 2, n: 4, k: 3 });
 * getKernelInfo(); // { backend: 'wasm', simd: 'relaxed', threads: 2 }
 */
import { matmulWasm, setWasmThreads, waitForWasmWorkers, wasmThreads, wasmVariant } from './matmul-wasm.ts';

// Fused attention, float32 only (tested against a float64 oracle in test/kernels/attention-wasm.test.ts).
export { attentionBackwardWasm as attentionBackward, attentionForwardWasm as attentionForward } from './attention-wasm.ts';
export type { AttentionParams } from './attention-wasm.ts';
import { matmulReference } from './reference/matmul.ts';
import type { MatmulKernel, MatmulParams, Storage } from './types.ts';
import type { SimdVariant } from './wasm.ts';

export type KernelBackend = 'wasm' | 'reference';

export interface KernelInfo {
  /** Where float32 matmuls run now. */
  backend: KernelBackend;
  /** The wasm build in use (relaxed = SIMD with FMA); undefined when the wasm could not load. */
  simd?: SimdVariant;
  /** Threads a large wasm matmul is split across, the calling one included. */
  threads: number;
  /** Why the backend is 'reference' though 'wasm' was asked for (the wasm failed to load). */
  fallbackReason?: string;
}

let requested: KernelBackend = process.env.QKV_KERNELS === 'reference' ? 'reference' : 'wasm';
let fallbackReason: string | undefined;

/** Choose where float32 matmuls run; the default is 'wasm' (`QKV_KERNELS=reference` to change it). */
export function setKernelBackend(backend: KernelBackend): void {
  if (backend !== 'wasm' && backend !== 'reference') throw new RangeError(`setKernelBackend: expected 'wasm' or 'reference', got '${String(backend)}'`);
  requested = backend;
  fallbackReason = undefined;
}

/** Threads for the wasm kernels (default `QKV_THREADS`, else the number of cores); 1 runs no workers. */
export function setKernelThreads(threads: number): void {
  setWasmThreads(threads);
}

/** Start the worker threads now and block until they run (a fresh pool does all work on the caller). */
export function waitForKernelThreads(timeoutMs?: number): boolean {
  return activeBackend() === 'wasm' ? waitForWasmWorkers(timeoutMs) : true;
}

export function getKernelInfo(): KernelInfo {
  const backend = activeBackend();
  const info: KernelInfo = { backend, threads: backend === 'wasm' ? wasmThreads() : 1 };
  if (backend === 'wasm') info.simd = wasmVariant();
  if (fallbackReason !== undefined) info.fallbackReason = fallbackReason;
  return info;
}

/** out[b] (+)= op(A[b])·op(B[b]); see `MatmulParams`. Float32 on all three arrays takes the fast path. */
export const matmul: MatmulKernel = (a: Storage, b: Storage, out: Storage, params: MatmulParams): void => {
  if (a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array && activeBackend() === 'wasm') {
    matmulWasm(a, b, out, params);
    return;
  }
  matmulReference(a, b, out, params);
};

/** 'wasm' when asked for and loadable; a load failure falls back to the reference once, with the reason kept. */
function activeBackend(): KernelBackend {
  if (requested === 'reference') return 'reference';
  try {
    wasmVariant();
    return 'wasm';
  } catch (error) {
    fallbackReason = error instanceof Error ? error.message : String(error);
    requested = 'reference';
    return 'reference';
  }
}
