/**
 * The fast float32 matmul: the MatmulParams contract (../types.ts) on the AssemblyScript sgemm
 * (.../assembly/sgemm.ts), across a pool of worker threads.
 *
 * Data movement: A, B (and C when accumulating) are copied into the shared wasm memory, computed
 * there, and C is copied back out. Measured here the copies take 0.1 ms at 512² and 1.3 ms at
 * 1024², 2–3% of a one-thread multiply, ~5% of a two-thread one; keeping tensors in wasm memory
 * would save that, at the price of an allocator the tensor engine does not have (yet).
 *
 * The operands go in the arena of the shared memory (see ./runtime.ts).
 *
 * Splitting: batched calls split across batch entries. A single large matmul packs B once, all
 * threads together (one chunk per block of B), then splits C into row blocks, several per thread,
 * that share the packed B. When M is too small to split, C splits into column blocks instead.
 */
import { DESCRIPTOR_WORDS, MAX_CHUNKS, OP_PACK_B, OP_SGEMM, OP_SGEMM_PACKED_B } from './pool.ts';
import { alignUp, arenaStart, heapWithCapacity, kernelPool, RESERVED_BYTES, runChunks, wasmThreads } from './runtime.ts';
import type { MatmulParams } from '../types.ts';
import { loadKernels } from './loader.ts';
import type { LoadedKernels } from './loader.ts';

// Thread control lives in ./runtime.ts, shared by every wasm kernel; re-exported for callers here.
export { setWasmThreads, waitForWasmWorkers, wasmThreads, wasmVariant, wasmWorkerChunks } from './runtime.ts';

/**
 * Below this many flops one thread wins: waking a worker costs ~20 µs here, and at 128² (4.2
 * MFLOP, ~90 µs on one thread) 2 threads measured 10% slower than 1.
 */
export const PARALLEL_MIN_FLOPS = 1 << 23;
let parallelMinFlops = PARALLEL_MIN_FLOPS;

/** Split matmuls of at least `flops` across threads (default PARALLEL_MIN_FLOPS). Tests lower it. */
export function setWasmParallelMinFlops(flops: number): void {
  if (!(flops >= 0)) throw new RangeError(`setWasmParallelMinFlops: expected flops ≥ 0, got ${flops}`);
  parallelMinFlops = flops;
}

/** Rows (or columns) a split chunk keeps at least, so packing stays small next to its multiply. */
const MIN_SPLIT = 32;
/** out[b] (+)= op(A[b])·op(B[b]) in float32 on the wasm kernels; see `MatmulParams`. */
export function matmulWasm(a: Float32Array, b: Float32Array, out: Float32Array, params: MatmulParams): void {
  const { batch, m, n, k } = params;
  const transA = params.transA ?? false;
  const transB = params.transB ?? false;
  const accumulate = params.accumulate ?? false;
  const strideA = params.strideA ?? m * k;
  const strideB = params.strideB ?? k * n;
  const offsetA = params.offsetA ?? 0;
  const offsetB = params.offsetB ?? 0;
  checkSizes('a', a.length, batch, offsetA, strideA, m * k);
  checkSizes('b', b.length, batch, offsetB, strideB, k * n);
  checkSizes('out', out.length, batch, 0, m * n, m * n);
  if (batch === 0 || m === 0 || n === 0) return;
  if (k === 0) {
    if (!accumulate) out.fill(0, 0, batch * m * n);
    return;
  }

  const kernels = loadKernels();
  const threads = wasmThreads();
  const workBase = RESERVED_BYTES;
  // Distinct A / B copies: one when broadcast (stride 0), else one per batch entry, packed tight.
  const copiesA = strideA === 0 ? 1 : batch;
  const copiesB = strideB === 0 ? 1 : batch;
  const aPtr = arenaStart(kernels);
  const bPtr = aPtr + alignUp(copiesA * m * k * 4);
  const cPtr = bPtr + alignUp(copiesB * k * n * 4);
  const packedBPtr = cPtr + alignUp(batch * m * n * 4);
  const flops = 2 * batch * m * n * k;
  const parallel = threads > 1 && flops >= parallelMinFlops;
  // One matmul split by rows: pack B once, together, then share it (see sharedBRowChunks).
  const shareB = parallel && batch === 1 && m >= 2 * MIN_SPLIT;
  const endPtr = packedBPtr + (shareB ? alignUp(kernels.exports.packedBFloats(k, n) * 4) : 0);
  const f32 = heapWithCapacity(kernels, endPtr);

  copyIn(f32, aPtr, a, offsetA, strideA, copiesA, m * k);
  copyIn(f32, bPtr, b, offsetB, strideB, copiesB, k * n);
  if (accumulate) f32.set(out.subarray(0, batch * m * n), cPtr >>> 2);

  const job: SgemmJob = {
    m, n, k,
    aPtr, rsA: transA ? 1 : k, csA: transA ? m : 1, strideABytes: strideA === 0 ? 0 : m * k * 4,
    bPtr, rsB: transB ? 1 : n, csB: transB ? k : 1, strideBBytes: strideB === 0 ? 0 : k * n * 4,
    cPtr, strideCBytes: m * n * 4,
    accumulate: accumulate ? 1 : 0,
  };
  if (!parallel) {
    for (let i = 0; i < batch; i++) {
      kernels.exports.sgemm(
        m, n, k,
        aPtr + i * job.strideABytes, job.rsA, job.csA,
        bPtr + i * job.strideBBytes, job.rsB, job.csB,
        cPtr + i * job.strideCBytes, n, job.accumulate, workBase,
      );
    }
  } else {
    const descriptors = kernelPool(kernels).descriptors;
    if (shareB) {
      runChunks(kernels, writePackBChunks(descriptors, job, kernels, packedBPtr));
      runChunks(kernels, writeSharedBRowChunks(descriptors, job, packedBPtr, threads));
    } else {
      runChunks(kernels, writeChunks(descriptors, job, batch, threads));
    }
  }
  out.set(f32.subarray(cPtr >>> 2, (cPtr >>> 2) + batch * m * n));
}

interface SgemmJob {
  m: number; n: number; k: number;
  aPtr: number; rsA: number; csA: number; strideABytes: number;
  bPtr: number; rsB: number; csB: number; strideBBytes: number;
  cPtr: number; strideCBytes: number;
  accumulate: number;
}

/** Phase 1 of a shared-B matmul: one chunk per (NC × KC) block of B. */
function writePackBChunks(desc: Int32Array, job: SgemmJob, kernels: LoadedKernels, packedBPtr: number): number {
  const KC = kernels.exports.blockSizes(2);
  const NC = kernels.exports.blockSizes(3);
  let count = 0;
  for (let jc = 0; jc < job.n; jc += NC) {
    for (let pc = 0; pc < job.k; pc += KC) {
      desc.set([OP_PACK_B, job.k, job.n, job.bPtr, job.rsB, job.csB, packedBPtr, jc, pc], count * DESCRIPTOR_WORDS);
      count++;
    }
  }
  return count;
}

/**
 * Phase 2: row blocks of C on the shared packed B. With nothing packed twice, chunks can be
 * small, so there are 4 per thread: a thread that starts late (woken slowly, or sharing its
 * core with another process) leaves its chunks to the others instead of holding everyone up.
 */
function writeSharedBRowChunks(desc: Int32Array, job: SgemmJob, packedBPtr: number, threads: number): number {
  const pieces = Math.max(1, Math.min(threads * 4, Math.floor(job.m / MIN_SPLIT), MAX_CHUNKS));
  const step = Math.ceil(job.m / pieces / 4) * 4;
  let count = 0;
  for (let row0 = 0; row0 < job.m; row0 += step) {
    const rows = Math.min(step, job.m - row0);
    desc.set([
      OP_SGEMM_PACKED_B, rows, job.n, job.k,
      job.aPtr + 4 * row0 * job.rsA, job.rsA, job.csA,
      packedBPtr,
      job.cPtr + 4 * row0 * job.n, job.n, job.accumulate,
    ], count * DESCRIPTOR_WORDS);
    count++;
  }
  return count;
}

/** Fill the pool's descriptors with the chunks of `job` (each packing its own B); returns how many. */
function writeChunks(desc: Int32Array, job: SgemmJob, batch: number, threads: number): number {
  let count = 0;
  const push = (batch0: number, batchCount: number, row0: number, rows: number, col0: number, cols: number): void => {
    desc.set([
      OP_SGEMM, rows, cols, job.k,
      job.aPtr + batch0 * job.strideABytes + 4 * row0 * job.rsA, job.rsA, job.csA,
      job.bPtr + batch0 * job.strideBBytes + 4 * col0 * job.csB, job.rsB, job.csB,
      job.cPtr + batch0 * job.strideCBytes + 4 * (row0 * job.n + col0), job.n, job.accumulate,
      batchCount, job.strideABytes, job.strideBBytes, job.strideCBytes,
    ], count * DESCRIPTOR_WORDS);
    count++;
  };
  const { m, n } = job;
  if (batch % threads === 0 || batch >= threads * 4) {
    // Whole batch entries per chunk: nothing is packed twice. Up to 4 chunks a thread balance load.
    const groups = Math.min(batch, threads * 4, MAX_CHUNKS);
    for (let g = 0; g < groups; g++) {
      const start = Math.floor((g * batch) / groups);
      const end = Math.floor(((g + 1) * batch) / groups);
      push(start, end - start, 0, m, 0, n);
    }
    return count;
  }
  // Fewer entries than threads, or a count that does not share out evenly: split each entry too.
  const parts = batch === 1 ? threads : Math.ceil((2 * threads) / batch);
  const splitRows = m >= n || m >= parts * MIN_SPLIT;
  const extent = splitRows ? m : n;
  // Row blocks on the micro-tile height (4), column blocks on its width (8): no extra edge tiles.
  const unit = splitRows ? 4 : 8;
  const pieces = Math.max(1, Math.min(parts, Math.floor(extent / MIN_SPLIT)));
  const step = Math.ceil(extent / pieces / unit) * unit;
  for (let i = 0; i < batch; i++) {
    for (let start = 0; start < extent; start += step) {
      const size = Math.min(step, extent - start);
      if (splitRows) push(i, 1, start, size, 0, n);
      else push(i, 1, 0, m, start, size);
    }
  }
  return count;
}

function copyIn(f32: Float32Array, ptr: number, source: Float32Array, offset: number, stride: number, copies: number, size: number): void {
  const base = ptr >>> 2;
  if (copies === 1 || stride === size) {
    f32.set(source.subarray(offset, offset + copies * size), base);
    return;
  }
  for (let i = 0; i < copies; i++) f32.set(source.subarray(offset + i * stride, offset + i * stride + size), base + i * size);
}

function checkSizes(name: string, length: number, batch: number, offset: number, stride: number, size: number): void {
  for (const [label, value] of [['batch', batch], [`offset of ${name}`, offset], [`stride of ${name}`, stride], [`size of ${name}`, size]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`matmul (wasm): ${label} must be a non-negative integer, got ${value}`);
  }
  if (batch === 0 || size === 0) return;
  const needed = offset + (batch - 1) * stride + size;
  if (length < needed) {
    throw new RangeError(`matmul (wasm): ${name} needs at least ${needed} elements (offset ${offset}, ${batch} × stride ${stride}, size ${size}), found ${length}`);
  }
}
