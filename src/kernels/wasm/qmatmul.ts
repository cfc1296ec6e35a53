/**
 * The wasm SIMD quantised matmul (../assembly/quant.ts) behind a small typed face:
 * out (M, N) = x (M, K) · Wᵀ on W's packed Q8_0 / Q4_0 / Q4_G128 blocks, with x quantised to
 * 8 bits per block of 32 inside (ggml's Q8_0 rule, float32 scale), exactly as the native kernel
 * does (src/kernels/native/quant-blocks.h), so both are tested against the same oracle.
 *
 * Data movement: x and the packed weight are copied into the arena of the shared memory
 * (./runtime.ts) and out back, as the float matmul does with its operands; the packed weight is
 * ~3.8× (Q8_0) to ~7× (Q4_0) smaller than its float32 copy would be.
 * Splitting: output columns in blocks across the worker pool, every chunk for all M rows, so
 * each weight row is read from memory once per call.
 *
 * Legend: M = input rows (B·T), K = in_features (the quantised axis), N = out_features.
 *
 * @example
 * qmatmulWasm(out, x, M, 0, w.data, N, K);   // format 0 = q8_0, 1 = q4_0, 2 = q4_g128
 */
import { DESCRIPTOR_WORDS, MAX_CHUNKS, OP_QMATMUL } from './pool.ts';
import { Arena, kernelPool, runChunks, wasmThreads } from './runtime.ts';
import { loadKernels } from './loader.ts';

/** Weights per block and bytes per block of each format code (as formats.ts's QUANT_FORMAT_INFO). */
const BLOCKS: readonly { size: number; bytes: number }[] = [{ size: 32, bytes: 34 }, { size: 32, bytes: 18 }, { size: 128, bytes: 68 }];

/**
 * Below this many multiply-adds one thread wins (a wake-up costs ~20 µs here; the float matmul's
 * threshold, in MACs). Tests lower it to reach the threaded path on small shapes.
 */
export const QMATMUL_PARALLEL_MIN_MACS = 1 << 22;
let parallelMinMacs = QMATMUL_PARALLEL_MIN_MACS;

export function setWasmQmatmulParallelMinMacs(macs: number): void {
  if (!(macs >= 0)) throw new RangeError(`setWasmQmatmulParallelMinMacs: expected macs ≥ 0, got ${macs}`);
  parallelMinMacs = macs;
}

/** Columns a chunk keeps at least: fewer would spend more on claiming than on dots. */
const MIN_COLUMNS_PER_CHUNK = 16;

/** out (M, N) = x (M, K) · Wᵀ, W (N, K) packed as `format` (0 q8_0, 1 q4_0, 2 q4_g128) in `w`. */
export function qmatmulWasm(out: Float32Array, x: Float32Array, M: number, format: number, w: Uint8Array, N: number, K: number): void {
  const block = BLOCKS[format];
  if (block === undefined) throw new RangeError(`qmatmul (wasm): unknown format code ${format}`);
  if (!Number.isInteger(K) || K <= 0 || K % block.size !== 0) throw new RangeError(`qmatmul (wasm): K = ${K} is not a positive multiple of the block size ${block.size}`);
  if (x.length < M * K) throw new RangeError(`qmatmul (wasm): x needs M·K = ${M * K} values, found ${x.length}`);
  if (out.length < M * N) throw new RangeError(`qmatmul (wasm): out needs M·N = ${M * N} values, found ${out.length}`);
  const weightBytes = N * (K / block.size) * block.bytes;
  if (w.length < weightBytes) throw new RangeError(`qmatmul (wasm): w needs ${weightBytes} bytes for (${N}, ${K}), found ${w.length}`);
  if (M === 0 || N === 0) return;

  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const xPtr = arena.floats(M * K);
  const codesPtr = arena.bytes(M * K);
  const scalesPtr = arena.floats((M * K) / 32);
  const sumsPtr = format === 2 ? arena.floats((M * K) / 128) : 0;
  const wPtr = arena.bytes(weightBytes);
  const outPtr = arena.floats(M * N);
  const heap = arena.commit();
  heap.set(x.subarray(0, M * K), xPtr >>> 2);
  new Uint8Array(heap.buffer, wPtr, weightBytes).set(w.subarray(0, weightBytes));
  kernels.exports.quantizeActivations(M, K, xPtr, codesPtr, scalesPtr, sumsPtr);

  const threads = wasmThreads();
  const pieces = threads > 1 && M * N * K >= parallelMinMacs
    ? Math.max(1, Math.min(threads * 4, Math.floor(N / MIN_COLUMNS_PER_CHUNK), MAX_CHUNKS))
    : 1;
  if (pieces === 1) {
    kernels.exports.qmatmulColumns(format, M, N, K, 0, N, codesPtr, scalesPtr, sumsPtr, wPtr, outPtr);
  } else {
    const descriptors = kernelPool(kernels).descriptors;
    const step = Math.ceil(N / pieces);
    let count = 0;
    for (let n0 = 0; n0 < N; n0 += step) {
      const n1 = Math.min(N, n0 + step);
      descriptors.set([OP_QMATMUL, format, M, N, K, n0, n1, codesPtr, scalesPtr, sumsPtr, wPtr, outPtr], count * DESCRIPTOR_WORDS);
      count++;
    }
    runChunks(kernels, count);
  }
  out.set(heap.subarray(outPtr >>> 2, (outPtr >>> 2) + M * N));
}
