/**
 * The kernels the tensor engine calls. Float32 work runs on the WebAssembly SIMD kernels (matmul
 * across worker threads; fused attention; tanh GELU, layerNorm, rmsNorm, bias + tanh GELU,
 * cross-entropy, the embedding's scatter-add and the Adam step fused into one pass each), and
 * everything else (float64, mixed storage) on the plain TypeScript references, which stay the
 * oracles the fast paths are tested against.
 *
 * Where the reference lives here (matmul, layerNorm, rmsNorm, cross-entropy) the export takes the
 * reference's signature and picks the path itself. Where it lives in the caller (tanh GELU in
 * src/tensor/ops/elementwise.ts, bias + GELU in src/tensor/ops/fused.ts, the embedding's
 * scatter-add in src/tensor/ops/indexing.ts, the Adam step in src/optim/adam.ts) the export is
 * `tryX`: it runs the wasm kernel and returns true, or returns false and the caller runs its
 * reference.
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
import { adamUpdateWasm } from './adam-wasm.ts';
import type { AdamStepScalars } from './adam-wasm.ts';
import { geluTanhBackwardWasm, geluTanhForwardWasm } from './activation-wasm.ts';
import { crossEntropyBackwardWasm, crossEntropyForwardWasm } from './crossentropy-wasm.ts';
import { layerNormBackwardWasm, layerNormForwardWasm } from './norm-wasm.ts';
import { crossEntropyBackward as crossEntropyBackwardReference, crossEntropyForward as crossEntropyForwardReference } from './reference/crossentropy.ts';
import { matmulReference } from './reference/matmul.ts';
import { layerNormBackward as layerNormBackwardReference, layerNormForward as layerNormForwardReference } from './reference/norm.ts';
import { rmsNormBackward as rmsNormBackwardReference, rmsNormForward as rmsNormForwardReference } from './reference/norm.ts';
import { rmsNormBackwardWasm, rmsNormForwardWasm } from './rmsnorm-wasm.ts';
import { biasGeluBackwardWasm, biasGeluForwardWasm } from './bias-gelu-wasm.ts';
import { embeddingScatterAddWasm } from './embedding-wasm.ts';
import type { MatmulKernel, MatmulParams, Storage } from './types.ts';
export type { AdamStepScalars } from './adam-wasm.ts';
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

/**
 * Tanh GELU forward, y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) over n values, on wasm when
 * y and x (and `saved`, which gets exp(2u) for the caller's reference backward) are float32;
 * false when the caller's reference must run.
 */
export function tryGeluTanhForward(y: Storage, x: Storage, saved: Storage | null, n: number): boolean {
  if (!(y instanceof Float32Array && x instanceof Float32Array && (saved === null || saved instanceof Float32Array))) return false;
  if (activeBackend() !== 'wasm') return false;
  geluTanhForwardWasm(y, x, saved, n);
  return true;
}

/** dx = g·gelu'(x) over n values (tanh form), on wasm when all three are float32; false otherwise. */
export function tryGeluTanhBackward(dx: Storage, g: Storage, x: Storage, n: number): boolean {
  if (!(dx instanceof Float32Array && g instanceof Float32Array && x instanceof Float32Array)) return false;
  if (activeBackend() !== 'wasm') return false;
  geluTanhBackwardWasm(dx, g, x, n);
  return true;
}

/** The contract of ./reference/norm.ts `layerNormForward`; float32 activations, weight and bias run on wasm. */
export const layerNormForward: typeof layerNormForwardReference = (out, mean, rstd, inp, weight, bias, N, C, eps) => {
  if (out instanceof Float32Array && inp instanceof Float32Array && float32OrNull(weight) && float32OrNull(bias) && activeBackend() === 'wasm') {
    layerNormForwardWasm(out, mean, rstd, inp, weight, bias, N, C, eps);
    return;
  }
  layerNormForwardReference(out, mean, rstd, inp, weight, bias, N, C, eps);
};

/** The contract of ./reference/norm.ts `layerNormBackward`; float32 dout, inp, dinp and weight run on wasm. */
export const layerNormBackward: typeof layerNormBackwardReference = (dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C) => {
  if (float32OrNull(dinp) && dout instanceof Float32Array && inp instanceof Float32Array && float32OrNull(weight) && activeBackend() === 'wasm') {
    layerNormBackwardWasm(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    return;
  }
  layerNormBackwardReference(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
};

/** The contract of ./reference/crossentropy.ts `crossEntropyForward`; float32 logits and losses run on wasm. */
export const crossEntropyForward: typeof crossEntropyForwardReference = (losses, logNormalizers, logits, targets, N, C, ignoreIndex, smoothing) => {
  if (losses instanceof Float32Array && logits instanceof Float32Array && activeBackend() === 'wasm') {
    crossEntropyForwardWasm(losses, logNormalizers, logits, targets, N, C, ignoreIndex, smoothing);
    return;
  }
  crossEntropyForwardReference(losses, logNormalizers, logits, targets, N, C, ignoreIndex, smoothing);
};

/** The contract of ./reference/crossentropy.ts `crossEntropyBackward`; float32 logits and dlogits run on wasm. */
export const crossEntropyBackward: typeof crossEntropyBackwardReference = (dlogits, logits, logNormalizers, targets, rowScales, N, C, ignoreIndex, smoothing) => {
  if (dlogits instanceof Float32Array && logits instanceof Float32Array && activeBackend() === 'wasm') {
    crossEntropyBackwardWasm(dlogits, logits, logNormalizers, targets, rowScales, N, C, ignoreIndex, smoothing);
    return;
  }
  crossEntropyBackwardReference(dlogits, logits, logNormalizers, targets, rowScales, N, C, ignoreIndex, smoothing);
};

/**
 * One Adam / AdamW step over a parameter's arrays, in place, on wasm when all four are float32;
 * false when the caller's reference must run. See `AdamStepScalars` for what the step needs.
 */
export function tryAdamUpdate(param: Storage, grad: Storage, expAvg: Storage, expAvgSq: Storage, step: AdamStepScalars): boolean {
  if (!(param instanceof Float32Array && grad instanceof Float32Array && expAvg instanceof Float32Array && expAvgSq instanceof Float32Array)) return false;
  if (activeBackend() !== 'wasm') return false;
  adamUpdateWasm(param, grad, expAvg, expAvgSq, step);
  return true;
}

/** The contract of ./reference/norm.ts `rmsNormForward`; float32 activations and weight run on wasm. */
export const rmsNormForward: typeof rmsNormForwardReference = (out, rrms, inp, weight, N, C, eps) => {
  if (out instanceof Float32Array && inp instanceof Float32Array && float32OrNull(weight) && activeBackend() === 'wasm') {
    rmsNormForwardWasm(out, rrms, inp, weight, N, C, eps);
    return;
  }
  rmsNormForwardReference(out, rrms, inp, weight, N, C, eps);
};

/** The contract of ./reference/norm.ts `rmsNormBackward`; float32 dout, inp, dinp and weight run on wasm. */
export const rmsNormBackward: typeof rmsNormBackwardReference = (dinp, dweight, dout, inp, weight, rrms, N, C) => {
  if (float32OrNull(dinp) && dout instanceof Float32Array && inp instanceof Float32Array && float32OrNull(weight) && activeBackend() === 'wasm') {
    rmsNormBackwardWasm(dinp, dweight, dout, inp, weight, rrms, N, C);
    return;
  }
  rmsNormBackwardReference(dinp, dweight, dout, inp, weight, rrms, N, C);
};

/**
 * y = gelu_tanh(x + bias) over N rows of C, bias broadcast over the rows, on wasm when all three
 * are float32; false when the caller must compose the reference ops (src/tensor/ops/fused.ts).
 */
export function tryBiasGeluForward(y: Storage, x: Storage, bias: Storage, N: number, C: number): boolean {
  if (!(y instanceof Float32Array && x instanceof Float32Array && bias instanceof Float32Array)) return false;
  if (activeBackend() !== 'wasm') return false;
  biasGeluForwardWasm(y, x, bias, N, C);
  return true;
}

/** dx = g·gelu_tanh'(x + bias) (written), dbias += Σ_rows dx, on wasm when the arrays are float32; false otherwise. */
export function tryBiasGeluBackward(dx: Storage | null, dbias: Float64Array | null, g: Storage, x: Storage, bias: Storage, N: number, C: number): boolean {
  if (!(float32OrNull(dx) && g instanceof Float32Array && x instanceof Float32Array && bias instanceof Float32Array)) return false;
  if (activeBackend() !== 'wasm') return false;
  biasGeluBackwardWasm(dx, dbias, g, x, bias, N, C);
  return true;
}

/**
 * Embedding backward: dweight[ids[i], :] += g[i, :] (dweight (V, C), g (ids.length, C)), on wasm
 * when both are float32; false when the caller's reference must run. (The forward gather stays
 * in TypeScript: it is a row copy, and wasm would first have to copy in the whole (V, C) table.)
 */
export function tryEmbeddingScatterAdd(dweight: Storage, g: Storage, ids: Int32Array, C: number): boolean {
  if (!(dweight instanceof Float32Array && g instanceof Float32Array)) return false;
  if (activeBackend() !== 'wasm') return false;
  embeddingScatterAddWasm(dweight, g, ids, C);
  return true;
}

function float32OrNull(array: Storage | null): array is Float32Array | null {
  return array === null || array instanceof Float32Array;
}

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
