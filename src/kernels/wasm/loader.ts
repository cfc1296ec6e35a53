/**
 * Loads the compiled AssemblyScript kernels (build/wasm/*.wasm) into one shared
 * `WebAssembly.Memory` that worker threads can instantiate the same module on.
 *
 * Which build: the relaxed-SIMD one (fused multiply-add) when this runtime compiles it, else the
 * plain-SIMD one. Node 20 has relaxed SIMD behind `--experimental-wasm-relaxed-simd`, which we
 * switch on at run time; newer Node has it on by default. `QKV_SIMD=simd` forces the plain build.
 * Where the bytes come from is the host's business (./platform.ts on Node, ./platform-browser.ts
 * in a page).
 */
import { enableRelaxedSimd, readKernelBytes } from './platform.ts';

export type SimdVariant = 'relaxed' | 'simd';

/** The exports of kernels.wasm (sgemm, attention, the fused elementwise kernels); pointers are byte addresses in the shared memory. */
export interface KernelExports {
  sgemm(
    m: number, n: number, k: number,
    a: number, rsA: number, csA: number,
    b: number, rsB: number, csB: number,
    c: number, ldc: number,
    accumulate: number, work: number,
  ): void;
  /** Like sgemm, reading B already packed (all of it, for this n and k) by packBBlockAt. */
  sgemmPackedB(
    m: number, n: number, k: number,
    a: number, rsA: number, csA: number,
    packedB: number,
    c: number, ldc: number,
    accumulate: number, work: number,
  ): void;
  packBBlockAt(k: number, n: number, b: number, rsB: number, csB: number, packedB: number, jc: number, pc: number): void;
  packedBFloats(k: number, n: number): number;
  /** 0 → MR, 1 → NR, 2 → KC, 3 → NC. */
  blockSizes(which: number): number;
  workspaceBytes(): number;
  attentionScratchBytes(T: number): number;
  attentionForward(
    T: number, hs: number, NH: number, head0: number, count: number,
    q: number, k: number, v: number, out: number, lse: number, keyPad: number,
    causal: number, scaleBits: number, scratch: number, work: number,
  ): void;
  attentionBackward(
    T: number, hs: number, NH: number, head0: number, count: number,
    q: number, k: number, v: number, out: number, dout: number, lse: number,
    dq: number, dk: number, dv: number, keyPad: number,
    causal: number, scaleBits: number, scratch: number, work: number,
  ): void;
  /** x (M, K) → int8 codes and float32 scales per block of 32 (+ Σx per group of 128 when groupSums ≠ 0); ../assembly/quant.ts. */
  quantizeActivations(M: number, K: number, x: number, codes: number, scales: number, groupSums: number): void;
  /** out[m, n] = x̂[m]·Ŵ[n], n in [n0, n1), W packed in format 0 = q8_0, 1 = q4_0, 2 = q4_g128. */
  qmatmulColumns(format: number, M: number, N: number, K: number, n0: number, n1: number, codes: number, scales: number, groupSums: number, w: number, out: number): void;
  /** y = exp(x) over n floats (the vector exp the fused kernels share). */
  vexp(n: number, x: number, y: number): void;
  /** y = tanh GELU of x; saved = exp(2u) too, unless saved is 0. */
  geluTanhForward(n: number, x: number, y: number, saved: number): void;
  geluTanhBackward(n: number, x: number, g: number, dx: number): void;
  layerNormForward(N: number, C: number, inp: number, weight: number, bias: number, out: number, mean: number, rstd: number, eps: number): void;
  layerNormBackward(N: number, C: number, dout: number, inp: number, weight: number, mean: number, rstd: number, dinp: number, dweight: number, dbias: number): void;
  adamUpdate(
    n: number, param: number, grad: number, expAvg: number, expAvgSq: number,
    beta1: number, beta2: number, oneMinusBeta1: number, oneMinusBeta2: number,
    l2Penalty: number, keep: number, stepSize: number, biasCorrection2Sqrt: number, eps: number,
  ): void;
  crossEntropyForward(N: number, C: number, logits: number, targets: number, losses: number, lse: number, ignoreIndex: number, smoothing: number): void;
  crossEntropyBackward(N: number, C: number, logits: number, lse: number, targets: number, rowScales: number, dlogits: number, ignoreIndex: number, smoothing: number): void;
  rmsNormForward(N: number, C: number, inp: number, weight: number, out: number, rrms: number, eps: number): void;
  rmsNormBackward(N: number, C: number, dout: number, inp: number, weight: number, rrms: number, dinp: number, dweight: number): void;
  embeddingGather(N: number, C: number, weight: number, ids: number, out: number): void;
  embeddingScatterAdd(N: number, C: number, g: number, slots: number, dweight: number): void;
  biasGeluForward(N: number, C: number, x: number, bias: number, y: number): void;
  biasGeluBackward(N: number, C: number, x: number, bias: number, g: number, dx: number, dbias: number): void;
}

/** The slice of the WebAssembly JS API we use (lib.dom is not in our tsconfig). */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
  grow(deltaPages: number): number;
}
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** 64 KiB wasm pages; the modules declare a 65536-page (4 GiB) maximum, see build-wasm.mjs. */
export const PAGE_BYTES = 65536;
export const MAX_MEMORY_PAGES = 65536;

export interface LoadedKernels {
  variant: SimdVariant;
  /** Compiled once; workers instantiate it again on the same memory. */
  module: WasmModule;
  memory: WasmMemory;
  exports: KernelExports;
}

/** Instantiate `module` on `memory`; the same call runs in every worker. */
export function instantiateKernels(module: WasmModule, memory: WasmMemory): KernelExports {
  const instance = new wasmApi.Instance(module, { env: { memory, abort: abortFromWasm } });
  return instance.exports as KernelExports;
}

function abortFromWasm(): never {
  throw new Error('qkv kernels: WebAssembly abort');
}

let loaded: LoadedKernels | undefined;
let loadError: Error | undefined;

/** The kernels for this process, loaded on first use. Throws (and keeps throwing) when they cannot load. */
export function loadKernels(): LoadedKernels {
  if (loaded !== undefined) return loaded;
  if (loadError !== undefined) throw loadError;
  try {
    loaded = load();
    return loaded;
  } catch (error) {
    loadError = error instanceof Error ? error : new Error(String(error));
    throw loadError;
  }
}

function load(): LoadedKernels {
  const files = readKernelBytes();
  let variant: SimdVariant = 'simd';
  let bytes = files.simd;
  if (files.relaxed !== null && supportsModule(files.relaxed)) {
    variant = 'relaxed';
    bytes = files.relaxed;
  }
  if (!wasmApi.validate(bytes)) {
    throw new Error(`qkv kernels: this runtime cannot compile ${files.simdSource} (WebAssembly SIMD and threads are required)`);
  }
  const module = new wasmApi.Module(bytes);
  const memory = new wasmApi.Memory({ initial: 1, maximum: MAX_MEMORY_PAGES, shared: true });
  const exports = instantiateKernels(module, memory);
  warmUp(exports, memory);
  return { variant, module, memory, exports };
}

/**
 * V8 first runs wasm from its baseline compiler (Liftoff, ~5× slower here) and swaps in optimised
 * code once a function has run enough, for the *next* call. A few small multiplies now spend that
 * budget, so the first real matmul already gets the optimised kernel. Uses memory above 64 KiB,
 * which nothing holds yet.
 */
function warmUp(sgemm: KernelExports, memory: WasmMemory): void {
  const size = 64;
  const work = 65536;
  const a = work + sgemm.workspaceBytes();
  const b = a + size * size * 4;
  const c = b + size * size * 4;
  const pages = Math.ceil((c + size * size * 4) / PAGE_BYTES);
  memory.grow(pages - memory.buffer.byteLength / PAGE_BYTES);
  for (let i = 0; i < 4; i++) sgemm.sgemm(size, size, size, a, size, 1, b, size, 1, c, size, 0, work);
}

/** True when the runtime compiles `bytes`, after switching relaxed SIMD on where it is still a flag. */
function supportsModule(bytes: Uint8Array): boolean {
  if (wasmApi.validate(bytes)) return true;
  if (!enableRelaxedSimd()) return false;
  return wasmApi.validate(bytes);
}
