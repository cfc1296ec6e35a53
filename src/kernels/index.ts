/**
 * The kernels the tensor engine calls, through one `KernelBackend` (./backend.ts) chosen once:
 *   native     C++ (AVX-512 / AVX2 / portable) through Node-API, zero copy — the default on Node
 *              when the addon loads;
 *   wasm       WebAssembly SIMD on worker threads — the fallback (and the browser's engine);
 *   reference  plain TypeScript — the oracle; float64 always runs here.
 * `QKV_KERNELS=native|wasm|reference` or `setKernelBackend` picks one. Each export below takes the
 * reference's signature and sends float32 work to the chosen backend, anything else to the
 * reference: callers never test for a fast path themselves.
 *
 * Legend (as in ./types.ts): B = batch, T = time, C = channels, V = vocab, NH = heads,
 * hs = head size; M, N, K are the matmul sizes (M×K times K×N).
 *
 * @example
 * import { matmul, getKernelInfo } from './kernels/index.ts';
 * const a = new Float32Array(2 * 3), b = new Float32Array(3 * 4), out = new Float32Array(2 * 4);
 * matmul(a, b, out, { batch: 1, m: 2, n: 4, k: 3 });
 * getKernelInfo(); // { backend: 'native', simd: 'avx512', threads: 2 }
 */
import type { KernelBackend, KernelBackendName } from './backend.ts';
import { loadNativeBackend, nativeInfo, setNativeThreads } from './native/index.ts';
import type { ElementwiseOp, StridedLayout } from './reference/elementwise.ts';
import { referenceBackend } from './reference/index.ts';
import type { AdamStepScalars, AttentionParams, MatmulKernel, RotaryParams, Storage } from './types.ts';
import { wasmBackend } from './wasm/index.ts';
import { setWasmThreads, waitForWasmWorkers, wasmThreads, wasmVariant } from './wasm/runtime.ts';

export type { KernelBackend, KernelBackendName } from './backend.ts';
export type { AdamStepScalars, AttentionParams, MatmulParams, RotaryParams } from './types.ts';
export type { ElementwiseOp, StridedLayout } from './reference/elementwise.ts';
export type { UnaryOp } from './reference/unary.ts';
import type { UnaryOp } from './reference/unary.ts';

export interface KernelInfo {
  /** Where float32 kernels run now. */
  backend: KernelBackendName;
  /** native: 'avx512' | 'avx2' | 'portable'; wasm: 'relaxed' (SIMD with FMA) | 'simd'; absent for the reference. */
  simd?: string;
  /** Threads a large kernel is split across, the calling one included. */
  threads: number;
  /** Why the backend is not the one asked for (or the default): what failed to load. */
  fallbackReason?: string;
}

const BACKEND_NAMES: readonly KernelBackendName[] = ['native', 'wasm', 'reference'];

function parseBackendName(raw: string | undefined): KernelBackendName | undefined {
  if (raw === undefined || raw === '') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(raw)) return raw as KernelBackendName;
  throw new RangeError(`QKV_KERNELS must be one of ${BACKEND_NAMES.join(', ')}, got "${raw}"`);
}

let requested: KernelBackendName | undefined = parseBackendName(process.env.QKV_KERNELS);
let active: KernelBackend | undefined;
let fallbackReason: string | undefined;
let threadCount: number | undefined;
let saidFallback = false;

/** Choose where float32 kernels run (default: native when it loads, else wasm). */
export function setKernelBackend(name: KernelBackendName): void {
  if (!BACKEND_NAMES.includes(name)) throw new RangeError(`setKernelBackend: expected 'native', 'wasm' or 'reference', got '${String(name)}'`);
  requested = name;
  active = undefined;
  fallbackReason = undefined;
}

/** Threads for the fast kernels (default `QKV_THREADS`, else the number of cores); 1 runs no workers. */
export function setKernelThreads(threads: number): void {
  setWasmThreads(threads);
  threadCount = threads;
  if (active?.name === 'native') setNativeThreads(threads);
}

/** Start the worker threads now and block until they run (the wasm pool starts asynchronously). */
export function waitForKernelThreads(timeoutMs?: number): boolean {
  return currentBackend().name === 'wasm' ? waitForWasmWorkers(timeoutMs) : true;
}

export function getKernelInfo(): KernelInfo {
  const backend = currentBackend();
  const info: KernelInfo = { backend: backend.name, threads: 1 };
  if (backend.name === 'native') {
    const native = nativeInfo();
    info.simd = native.simd;
    info.threads = native.threads;
  } else if (backend.name === 'wasm') {
    info.simd = wasmVariant();
    info.threads = wasmThreads();
  }
  if (fallbackReason !== undefined) info.fallbackReason = fallbackReason;
  return info;
}

/**
 * A backend by name, loaded (tests and benchmarks compare them through the interface); throws
 * with the reason when it cannot load.
 */
export function kernelBackend(name: KernelBackendName): KernelBackend<Storage> {
  if (name === 'reference') return referenceBackend;
  if (name === 'wasm') {
    wasmVariant(); // loads the module, or throws why not
    return wasmBackend as unknown as KernelBackend<Storage>;
  }
  const native = loadNativeBackend();
  setNativeThreads(threadCount ?? wasmThreads());
  return native as unknown as KernelBackend<Storage>;
}

/** The backend float32 work runs on now, resolved (and loaded) on first use. */
export function currentBackend(): KernelBackend<Storage> {
  if (active !== undefined) return active as unknown as KernelBackend<Storage>;
  const wanted = requested ?? 'native';
  const chain: KernelBackendName[] = wanted === 'native' ? ['native', 'wasm', 'reference'] : wanted === 'wasm' ? ['wasm', 'reference'] : ['reference'];
  const reasons: string[] = [];
  for (const name of chain) {
    try {
      active = kernelBackend(name) as unknown as KernelBackend;
      break;
    } catch (error) {
      reasons.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (reasons.length > 0) {
    fallbackReason = reasons.join('; ');
    if (!saidFallback) {
      // Once per process: the user should know training runs slower than it could.
      saidFallback = true;
      process.stderr.write(`qkv: running on the ${active!.name} kernels (${fallbackReason})\n`);
    }
  }
  return active as unknown as KernelBackend<Storage>;
}

/** The chosen backend when every array is float32 (nulls ignored), else the reference. */
function backendFor(...arrays: (Storage | null)[]): KernelBackend<Storage> {
  for (const array of arrays) if (array !== null && !(array instanceof Float32Array)) return referenceBackend;
  return currentBackend();
}

// ---- the kernels, dispatched ------------------------------------------------------------------

/** out[b] (+)= op(A[b])·op(B[b]); see `MatmulParams`. */
export const matmul: MatmulKernel = (a, b, out, params) => backendFor(a, b, out).matmul(a, b, out, params);

/** out = softmax(scale·Q·Kᵀ + mask)·V; lse kept for the backward (see `AttentionParams`). */
export function attentionForward(out: Storage, lse: Storage, q: Storage, k: Storage, v: Storage, p: AttentionParams): void {
  backendFor(out, lse, q, k, v).attentionForward(out, lse, q, k, v, p);
}

export function attentionBackward(dq: Storage, dk: Storage, dv: Storage, dout: Storage, q: Storage, k: Storage, v: Storage, out: Storage, lse: Storage, p: AttentionParams): void {
  backendFor(dq, dk, dv, dout, q, k, v, out, lse).attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, p);
}

/** RoPE of x (B, NH, T, hs, strided) into a contiguous out; cos, sin (rows, hs/2); see `RotaryParams`. */
export function rotaryEmbedding(out: Storage, x: Storage, cos: Storage, sin: Storage, p: RotaryParams): void {
  backendFor(out, x, cos, sin).rotaryEmbedding(out, x, cos, sin, p);
}

/** y = gelu_tanh(x) over n values. */
export function geluTanhForward(y: Storage, x: Storage, n: number): void {
  backendFor(y, x).geluTanhForward(y, x, n);
}

export function geluTanhBackward(dx: Storage, g: Storage, x: Storage, n: number): void {
  backendFor(dx, g, x).geluTanhBackward(dx, g, x, n);
}

/** y = gelu_tanh(x + bias), bias (C) over N rows. */
export function biasGeluForward(y: Storage, x: Storage, bias: Storage, N: number, C: number): void {
  backendFor(y, x, bias).biasGeluForward(y, x, bias, N, C);
}

export function biasGeluBackward(dx: Storage | null, dbias: Float64Array | null, g: Storage, x: Storage, bias: Storage, N: number, C: number): void {
  backendFor(dx, g, x, bias).biasGeluBackward(dx, dbias, g, x, bias, N, C);
}

export const layerNormForward: KernelBackend<Storage>['layerNormForward'] = (out, mean, rstd, inp, weight, bias, N, C, eps) =>
  backendFor(out, inp, weight, bias).layerNormForward(out, mean, rstd, inp, weight, bias, N, C, eps);

export const layerNormBackward: KernelBackend<Storage>['layerNormBackward'] = (dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C) =>
  backendFor(dinp, dout, inp, weight).layerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);

export const rmsNormForward: KernelBackend<Storage>['rmsNormForward'] = (out, rrms, inp, weight, N, C, eps) =>
  backendFor(out, inp, weight).rmsNormForward(out, rrms, inp, weight, N, C, eps);

export const rmsNormBackward: KernelBackend<Storage>['rmsNormBackward'] = (dinp, dweight, dout, inp, weight, rrms, N, C) =>
  backendFor(dinp, dout, inp, weight).rmsNormBackward(dinp, dweight, dout, inp, weight, rrms, N, C);

export const crossEntropyForward: KernelBackend<Storage>['crossEntropyForward'] = (losses, logNormalizers, logits, targets, N, C, ignoreIndex, smoothing) =>
  backendFor(losses, logits).crossEntropyForward(losses, logNormalizers, logits, targets, N, C, ignoreIndex, smoothing);

export const crossEntropyBackward: KernelBackend<Storage>['crossEntropyBackward'] = (dlogits, logits, logNormalizers, targets, rowScales, N, C, ignoreIndex, smoothing) =>
  backendFor(dlogits, logits).crossEntropyBackward(dlogits, logits, logNormalizers, targets, rowScales, N, C, ignoreIndex, smoothing);

/** One Adam / AdamW step over a parameter's arrays, in place (see `AdamStepScalars`). */
export function adamUpdate(param: Storage, grad: Storage, expAvg: Storage, expAvgSq: Storage, step: AdamStepScalars): void {
  backendFor(param, grad, expAvg, expAvgSq).adamUpdate(param, grad, expAvg, expAvgSq, step);
}

/** out[i, :] = weight[ids[i], :] for a (V, C) table. */
export function embeddingGather(out: Storage, weight: Storage, ids: Int32Array, C: number): void {
  backendFor(out, weight).embeddingGather(out, weight, ids, C);
}

/** dweight[ids[i], :] += g[i, :] for a (V, C) table. */
export function embeddingScatterAdd(dweight: Storage, g: Storage, ids: Int32Array, C: number): void {
  backendFor(dweight, g).embeddingScatterAdd(dweight, g, ids, C);
}

/**
 * Below this many elements an elementwise op stays on the TypeScript loop: a Node-API call and
 * its layout cost ~1 µs, what the loop takes for about this many elements.
 */
const ELEMENTWISE_MIN_NATIVE = 2048;

/** out = a (a copy between layouts) or a ∘ b, through the strides of `layout`; `size` elements. */
export function elementwise(op: ElementwiseOp, out: Storage, a: Storage, b: Storage | null, layout: StridedLayout, size: number): void {
  // The native loops take ranks up to 8 and non-negative strides (all qkv's views make).
  const native = size >= ELEMENTWISE_MIN_NATIVE && layout.shape.length <= 8 && nonNegative(layout.outStrides) && nonNegative(layout.aStrides) && nonNegative(layout.bStrides);
  (native ? backendFor(out, a, b) : referenceBackend).elementwise(op, out, a, b, layout);
}

function nonNegative(strides: readonly number[]): boolean {
  for (const stride of strides) if (stride < 0) return false;
  return true;
}

/** out[c] = scale·Σ_r a[offset + r·cols + c] (a bias gradient): native for large float32 work. */
export function columnSums(out: Storage, a: Storage, offset: number, rows: number, cols: number, scale: number): void {
  const backend = rows * cols < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(out, a);
  backend.columnSums(out, a, offset, rows, cols, scale);
}

/** out[o·inner + i] = scale·Σ_c a[offset + (o·C + c)·inner + i] (a middle-axis sum): native for large float32 work. */
export function axisSums(out: Storage, a: Storage, offset: number, outer: number, C: number, inner: number, scale: number): void {
  const backend = outer * C * inner < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(out, a);
  backend.axisSums(out, a, offset, outer, C, inner, scale);
}

/** Mean and Σ(x − mean)² over C of an (outer, C, inner) block, in float64: native for large float32 work. */
export function axisMoments(means: Float64Array, squares: Float64Array, a: Storage, offset: number, outer: number, C: number, inner: number): void {
  const backend = outer * C * inner < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(a);
  backend.axisMoments(means, squares, a, offset, outer, C, inner);
}

/** y = op(x) over n values (`slope`: leakyRelu's); small or float64 work stays on the reference loop. */
export function unaryForward(op: UnaryOp, y: Storage, x: Storage, n: number, slope: number): void {
  (n < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(y, x)).unaryForward(op, y, x, n, slope);
}

/** dx = g·op'(x) over n values, y the forward's output. */
export function unaryBackward(op: UnaryOp, dx: Storage, g: Storage, x: Storage, y: Storage, n: number, slope: number): void {
  (n < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(dx, g, x, y)).unaryBackward(op, dx, g, x, y, n, slope);
}

function softmaxBackendFor(size: number, ...arrays: Storage[]): KernelBackend<Storage> {
  return size < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(...arrays);
}

/** Softmax over C of an (outer, C, inner) array (a row all −∞ gives zeros). */
export function softmaxForward(out: Storage, inp: Storage, outer: number, C: number, inner: number): void {
  softmaxBackendFor(outer * C * inner, out, inp).softmaxForward(out, inp, outer, C, inner);
}

export function softmaxBackward(dinp: Storage, dout: Storage, out: Storage, outer: number, C: number, inner: number): void {
  softmaxBackendFor(outer * C * inner, dinp, dout, out).softmaxBackward(dinp, dout, out, outer, C, inner);
}

/** Log-softmax over C of an (outer, C, inner) array (a row all −∞ stays −∞). */
export function logSoftmaxForward(out: Storage, inp: Storage, outer: number, C: number, inner: number): void {
  softmaxBackendFor(outer * C * inner, out, inp).logSoftmaxForward(out, inp, outer, C, inner);
}

export function logSoftmaxBackward(dinp: Storage, dout: Storage, out: Storage, outer: number, C: number, inner: number): void {
  softmaxBackendFor(outer * C * inner, dinp, dout, out).logSoftmaxBackward(dinp, dout, out, outer, C, inner);
}

/** out[r] = scale·Σ_c a[offset + r·C + c]: a last-axis sum or mean of a contiguous tensor. */
export function rowSums(out: Storage, a: Storage, offset: number, rows: number, C: number, scale: number): void {
  (rows * C < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(out, a)).rowSums(out, a, offset, rows, C, scale);
}

/** Row maxima over the last axis and their first index (NaN wins), C ≥ 1. */
export function rowMax(values: Storage, indices: Storage, a: Storage, offset: number, rows: number, C: number): void {
  (rows * C < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(values, indices, a)).rowMax(values, indices, a, offset, rows, C);
}

/** Σ a[offset + i]² over n values in float64 (gradient clipping's squared norm). */
export function sumOfSquares(a: Storage, offset: number, n: number): number {
  return (n < ELEMENTWISE_MIN_NATIVE ? referenceBackend : backendFor(a)).sumOfSquares(a, offset, n);
}
