/**
 * The native backend: the C++ kernels of this folder (built by scripts/build-native.mjs into
 * build/native/qkv_native.node during `npm ci`) behind `KernelBackend`, float32 only.
 *
 * Zero copy: every kernel reads and writes the tensors' own Float32Array storage in place. The
 * addon checks every array's kind and length before touching it, so a wrong size is a
 * RangeError naming the kernel and the array, never a write out of bounds. Threads: a native
 * pool (`QKV_THREADS`, else the core count), the calling thread working too.
 *
 * @example
 * const native = loadNativeBackend();          // throws when the addon is not built
 * native.matmul(a, b, out, { batch: 1, m: 2, n: 4, k: 3 });
 * nativeInfo();                                 // { simd: 'avx512', threads: 2, microTile: '12x32', … }
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { KernelBackend } from '../backend.ts';
import { packageRoot } from '../package-root.ts';
import type { ElementwiseOp, StridedLayout } from '../reference/elementwise.ts';
import { rotaryEmbedding } from '../reference/rope.ts';
import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from '../reference/softmax.ts';
import { UNARY_OPS, type UnaryOp } from '../reference/unary.ts';

/** What the addon exports (src/kernels/native/addon.cc); argument order as there. */
interface NativeAddon {
  sgemm(a: Float32Array, b: Float32Array, out: Float32Array, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, accumulate: boolean, strideA: number, strideB: number, offsetA: number, offsetB: number): void;
  attentionForward(out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    B: number, NH: number, T: number, hs: number, causal: boolean, keyPadding: Uint8Array | null, scale: number): void;
  attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    out: Float32Array, lse: Float32Array, B: number, NH: number, T: number, hs: number, causal: boolean, keyPadding: Uint8Array | null, scale: number): void;
  geluForward(y: Float32Array, x: Float32Array, bias: Float32Array | null, N: number, C: number): void;
  geluBackward(dx: Float32Array | null, dbias: Float64Array | null, g: Float32Array, x: Float32Array, bias: Float32Array | null, N: number, C: number): void;
  layerNormForward(out: Float32Array, mean: Float64Array, rstd: Float64Array, inp: Float32Array, weight: Float32Array | null, bias: Float32Array | null, N: number, C: number, eps: number): void;
  layerNormBackward(dinp: Float32Array | null, dweight: Float64Array | null, dbias: Float64Array | null, dout: Float32Array, inp: Float32Array,
    weight: Float32Array | null, mean: Float64Array, rstd: Float64Array, N: number, C: number): void;
  rmsNormForward(out: Float32Array, rrms: Float64Array, inp: Float32Array, weight: Float32Array | null, N: number, C: number, eps: number): void;
  rmsNormBackward(dinp: Float32Array | null, dweight: Float64Array | null, dout: Float32Array, inp: Float32Array, weight: Float32Array | null, rrms: Float64Array, N: number, C: number): void;
  crossEntropyForward(losses: Float32Array, lse: Float64Array, logits: Float32Array, targets: Int32Array, N: number, C: number, ignoreIndex: number, smoothing: number): void;
  crossEntropyBackward(dlogits: Float32Array, logits: Float32Array, lse: Float64Array, targets: Int32Array, rowScales: Float64Array,
    N: number, C: number, ignoreIndex: number, smoothing: number): void;
  adamUpdate(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
    beta1: number, beta2: number, l2Penalty: number, keep: number, stepSize: number, biasCorrection2Sqrt: number, eps: number): void;
  embeddingGather(out: Float32Array, weight: Float32Array, ids: Int32Array, C: number): void;
  embeddingScatterAdd(dweight: Float32Array, g: Float32Array, ids: Int32Array, C: number): void;
  columnSums(out: Float32Array, a: Float32Array, offset: number, rows: number, cols: number, scale: number): void;
  elementwise(op: number, out: Float32Array, a: Float32Array, b: Float32Array | null, layout: Float64Array): void;
  exp(y: Float32Array, x: Float32Array): void;
  rowSums(out: Float32Array, a: Float32Array, offset: number, rows: number, C: number, scale: number): void;
  axisSums(out: Float32Array, a: Float32Array, offset: number, outer: number, C: number, inner: number, scale: number): void;
  axisMoments(means: Float64Array, squares: Float64Array, a: Float32Array, offset: number, outer: number, C: number, inner: number): void;
  rowMax(values: Float32Array, indices: Float32Array, a: Float32Array, offset: number, rows: number, C: number): void;
  sumOfSquares(a: Float32Array, offset: number, n: number): number;
  unaryForward(op: number, y: Float32Array, x: Float32Array, n: number, slope: number): void;
  unaryBackward(op: number, dx: Float32Array, g: Float32Array, x: Float32Array, y: Float32Array, n: number, slope: number): void;
  softmaxForward(logarithm: boolean, out: Float32Array, inp: Float32Array, rows: number, C: number): void;
  softmaxBackward(logarithm: boolean, dinp: Float32Array, dout: Float32Array, out: Float32Array, rows: number, C: number): void;
  /** rope.cc; absent from an addon built before it (the reference loop runs then). */
  rotaryEmbedding?(out: Float32Array, x: Float32Array, cos: Float32Array, sin: Float32Array, B: number, NH: number, T: number, hs: number,
    offset: number, strideB: number, strideH: number, strideT: number, position: number, inverse: boolean): void;
  info(): NativeInfo;
  setThreads(threads: number): void;
  selectIsa(isa: NativeSimd): boolean;
  /** mmap.cc; absent from an addon built before it. */
  mapFile?(path: string): ArrayBuffer;
}

export type NativeSimd = 'avx512' | 'avx2' | 'portable';

export interface NativeInfo {
  /** The instruction set the kernels run on (chosen at load from what the CPU reports). */
  simd: NativeSimd;
  threads: number;
  /** The sgemm micro-tile of C held in registers, MR×NR. */
  microTile: string;
  /** Tasks run by worker threads (not the caller) so far. */
  workerTasks: number;
}

let addon: NativeAddon | undefined;
let loadError: Error | undefined;

/** The addon's path: `QKV_NATIVE_PATH`, else build/native/qkv_native.node in the package. */
export function nativeAddonPath(): string {
  return process.env.QKV_NATIVE_PATH || join(packageRoot(), 'build', 'native', 'qkv_native.node');
}

function loadAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  if (loadError !== undefined) throw loadError;
  const path = nativeAddonPath();
  try {
    if (!existsSync(path)) throw new Error(`${path} is missing (the native build was skipped or failed during npm ci; \`node scripts/build-native.mjs\` rebuilds it)`);
    const loaded = createRequire(import.meta.url)(path) as NativeAddon;
    applySimdOverride(loaded);
    addon = loaded;
    return addon;
  } catch (error) {
    loadError = error instanceof Error ? error : new Error(String(error));
    throw loadError;
  }
}

/**
 * `QKV_SIMD=avx2|portable` runs the kernels on a narrower table than the CPU's widest, so the
 * whole suite can run on the portable (compiler-vectorised, ARM) path on an x86 machine.
 */
function applySimdOverride(loaded: NativeAddon): void {
  const wanted = process.env.QKV_SIMD;
  if (wanted === undefined || wanted === '') return;
  if (wanted !== 'avx512' && wanted !== 'avx2' && wanted !== 'portable') {
    throw new Error(`QKV_SIMD must be avx512, avx2 or portable, got '${wanted}'`);
  }
  if (!loaded.selectIsa(wanted)) throw new Error(`QKV_SIMD=${wanted}: this CPU cannot run the ${wanted} kernels (it runs ${loaded.info().simd})`);
}

/** The native backend, loading the addon on first use; throws (and keeps throwing) when it cannot load. */
export function loadNativeBackend(): KernelBackend {
  const native = loadAddon();
  return nativeBackendOf(native);
}

export function nativeInfo(): NativeInfo {
  return loadAddon().info();
}

/** Threads for the native kernels, the caller included (1 = no workers). */
export function setNativeThreads(threads: number): void {
  loadAddon().setThreads(threads);
}

/** Run on a narrower ISA than the CPU's widest (tests cover each path this CPU can run); false when it cannot. */
export function selectNativeSimd(simd: NativeSimd): boolean {
  return loadAddon().selectIsa(simd);
}

/** y = exp(x) with the kernels' vector exp (for the tests). */
export function expNative(y: Float32Array, x: Float32Array): void {
  loadAddon().exp(y, x);
}

/**
 * A copy-on-write memory map of the whole file (mmap.cc): reading it pages the file in lazily,
 * writing it changes private copies only, never the file. Null where it cannot be mapped here
 * (no addon, an addon without mmap.cc, Windows, an empty file, V8 refusing external memory), so
 * callers fall back to reading.
 *
 * @example const bytes = mapFile('gpt/model.safetensors'); // ArrayBuffer | null
 */
export function mapFile(path: string): ArrayBuffer | null {
  let native: NativeAddon;
  try {
    native = loadAddon();
  } catch {
    return null;
  }
  if (native.mapFile === undefined) return null;
  try {
    return native.mapFile(path);
  } catch {
    return null;
  }
}

let backend: KernelBackend | undefined;

function nativeBackendOf(native: NativeAddon): KernelBackend {
  backend ??= {
    name: 'native',
    matmul: (a, b, out, p) => native.sgemm(
      a, b, out, p.batch, p.m, p.n, p.k, p.transA ?? false, p.transB ?? false, p.accumulate ?? false,
      p.strideA ?? p.m * p.k, p.strideB ?? p.k * p.n, p.offsetA ?? 0, p.offsetB ?? 0,
    ),
    attentionForward: (out, lse, q, k, v, p) => native.attentionForward(out, lse, q, k, v, p.B, p.NH, p.T, p.hs, p.causal ?? false, p.keyPadding ?? null, p.scale ?? 1 / Math.sqrt(p.hs)),
    attentionBackward: (dq, dk, dv, dout, q, k, v, out, lse, p) =>
      native.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, p.B, p.NH, p.T, p.hs, p.causal ?? false, p.keyPadding ?? null, p.scale ?? 1 / Math.sqrt(p.hs)),
    rotaryEmbedding: native.rotaryEmbedding === undefined ? rotaryEmbedding : (out, x, cos, sin, p) => {
      const strideT = p.strideT ?? p.hs, strideH = p.strideH ?? p.T * strideT, strideB = p.strideB ?? p.NH * strideH;
      native.rotaryEmbedding!(out, x, cos, sin, p.B, p.NH, p.T, p.hs, p.offset ?? 0, strideB, strideH, strideT, p.position ?? 0, p.inverse ?? false);
    },
    geluTanhForward: (y, x, n) => native.geluForward(y, x, null, 1, n),
    geluTanhBackward: (dx, g, x, n) => native.geluBackward(dx, null, g, x, null, 1, n),
    biasGeluForward: (y, x, bias, N, C) => native.geluForward(y, x, bias, N, C),
    biasGeluBackward: (dx, dbias, g, x, bias, N, C) => native.geluBackward(dx, dbias, g, x, bias, N, C),
    layerNormForward: (out, mean, rstd, inp, weight, bias, N, C, eps) => native.layerNormForward(out, mean, rstd, inp, weight, bias, N, C, eps),
    layerNormBackward: (dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C) => native.layerNormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C),
    rmsNormForward: (out, rrms, inp, weight, N, C, eps) => native.rmsNormForward(out, rrms, inp, weight, N, C, eps),
    rmsNormBackward: (dinp, dweight, dout, inp, weight, rrms, N, C) => native.rmsNormBackward(dinp, dweight, dout, inp, weight, rrms, N, C),
    crossEntropyForward: (losses, lse, logits, targets, N, C, ignoreIndex, smoothing) => native.crossEntropyForward(losses, lse, logits, targets, N, C, ignoreIndex, smoothing),
    crossEntropyBackward: (dlogits, logits, lse, targets, rowScales, N, C, ignoreIndex, smoothing) =>
      native.crossEntropyBackward(dlogits, logits, lse, targets, rowScales instanceof Float64Array ? rowScales : Float64Array.from(rowScales), N, C, ignoreIndex, smoothing),
    adamUpdate: (param, grad, m, v, s) => {
      for (const [name, array] of [['grad', grad], ['expAvg', m], ['expAvgSq', v]] as const) {
        if (array.length !== param.length) throw new RangeError(`adamUpdate (native): ${name} has ${array.length} elements, param has ${param.length}`);
      }
      native.adamUpdate(param, grad, m, v, s.beta1, s.beta2, s.l2Penalty, s.keep, s.stepSize, s.biasCorrection2Sqrt, s.eps);
    },
    embeddingGather: (out, weight, ids, C) => native.embeddingGather(out, weight, ids, C),
    embeddingScatterAdd: (dweight, g, ids, C) => native.embeddingScatterAdd(dweight, g, ids, C),
    columnSums: (out, a, offset, rows, cols, scale) => native.columnSums(out, a, offset, rows, cols, scale),
    elementwise: (op, out, a, b, layout) => native.elementwise(OP_CODES[op], out, a, b, packLayout(layout)),
    rowSums: (out, a, offset, rows, C, scale) => native.rowSums(out, a, offset, rows, C, scale),
    axisSums: (out, a, offset, outer, C, inner, scale) => native.axisSums(out, a, offset, outer, C, inner, scale),
    axisMoments: (means, squares, a, offset, outer, C, inner) => native.axisMoments(means, squares, a, offset, outer, C, inner),
    rowMax: (values, indices, a, offset, rows, C) => native.rowMax(values, indices, a, offset, rows, C),
    sumOfSquares: (a, offset, n) => native.sumOfSquares(a, offset, n),
    unaryForward: (op, y, x, n, slope) => native.unaryForward(UNARY_CODES[op], y, x, n, slope),
    unaryBackward: (op, dx, g, x, y, n, slope) => native.unaryBackward(UNARY_CODES[op], dx, g, x, y, n, slope),
    // The native rows are contiguous (inner = 1: the last axis, what attention and the LM head
    // use); softmax over an inner axis keeps the strided reference loop.
    softmaxForward: (out, inp, outer, C, inner) => (inner === 1 ? native.softmaxForward(false, out, inp, outer, C) : softmaxForward(out, inp, outer, C, inner)),
    softmaxBackward: (dinp, dout, out, outer, C, inner) => (inner === 1 ? native.softmaxBackward(false, dinp, dout, out, outer, C) : softmaxBackward(dinp, dout, out, outer, C, inner)),
    logSoftmaxForward: (out, inp, outer, C, inner) => (inner === 1 ? native.softmaxForward(true, out, inp, outer, C) : logSoftmaxForward(out, inp, outer, C, inner)),
    logSoftmaxBackward: (dinp, dout, out, outer, C, inner) => (inner === 1 ? native.softmaxBackward(true, dinp, dout, out, outer, C) : logSoftmaxBackward(dinp, dout, out, outer, C, inner)),
  };
  return backend;
}

const OP_CODES: Record<ElementwiseOp, number> = { copy: 0, add: 1, sub: 2, mul: 3, div: 4 };
const UNARY_CODES = Object.fromEntries(UNARY_OPS.map((op, code) => [op, code])) as Record<UnaryOp, number>;

/** [rank, dims…, outOffset, outStrides…, aOffset, aStrides…, bOffset, bStrides…], as addon.cc reads it. */
function packLayout(layout: StridedLayout): Float64Array {
  const rank = layout.shape.length;
  const packed = new Float64Array(1 + 4 * rank + 3);
  packed[0] = rank;
  packed.set(layout.shape, 1);
  let at = 1 + rank;
  for (const [offset, strides] of [[layout.outOffset, layout.outStrides], [layout.aOffset, layout.aStrides], [layout.bOffset, layout.bStrides]] as const) {
    packed[at] = offset;
    packed.set(strides, at + 1);
    at += rank + 1;
  }
  return packed;
}
