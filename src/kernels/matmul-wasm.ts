/**
 * The fast float32 matmul: the MatmulParams contract (./types.ts) on the AssemblyScript sgemm
 * (./assembly/sgemm.ts), across a pool of worker threads.
 *
 * Data movement: A, B (and C when accumulating) are copied into the shared wasm memory, computed
 * there, and C is copied back out. Measured here the copies take 0.1 ms at 512² and 1.3 ms at
 * 1024², 2–3% of a one-thread multiply, ~5% of a two-thread one; keeping tensors in wasm memory
 * would save that, at the price of an allocator the tensor engine does not have (yet).
 *
 * Shared memory layout (bytes): [0, 64 KiB) left to AssemblyScript, then one sgemm workspace per
 * thread, then the operands of the current call. It grows on demand and is reused, so its peak is
 * the largest matmul seen, not the number of calls.
 *
 * Splitting: batched calls split across batch entries. A single large matmul packs B once, all
 * threads together (one chunk per block of B), then splits C into row blocks, several per thread,
 * that share the packed B. When M is too small to split, C splits into column blocks instead.
 */
import { availableParallelism } from 'node:os';
import { DESCRIPTOR_WORDS, KernelPool, MAX_CHUNKS, OP_PACK_B, OP_SGEMM, OP_SGEMM_PACKED_B, runDescriptor } from './pool.ts';
import type { MatmulParams } from './types.ts';
import { loadKernels, MAX_MEMORY_PAGES, PAGE_BYTES } from './wasm.ts';
import type { LoadedKernels, SimdVariant } from './wasm.ts';

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
const RESERVED_BYTES = 64 * 1024;
const ALIGN_BYTES = 64;

let threadCount: number | undefined;
let pool: KernelPool | undefined;
let heap: Float32Array | undefined;

/** Threads the wasm matmul uses: `setWasmThreads`, else `QKV_THREADS`, else the core count. */
export function wasmThreads(): number {
  threadCount ??= threadsFromEnv();
  return threadCount;
}

/** Use `threads` threads from the next call on (1 = no workers). Restarts the worker pool. */
export function setWasmThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`setWasmThreads: expected an integer ≥ 1, got ${threads}`);
  if (threads === threadCount) return;
  threadCount = threads;
  if (pool !== undefined) {
    void pool.close();
    pool = undefined;
  }
}

/** Which wasm build runs: 'relaxed' (SIMD with FMA) or 'simd'. Loads the kernels. */
export function wasmVariant(): SimdVariant {
  return loadKernels().variant;
}

/**
 * Start the worker pool now and block until its workers are running (they start asynchronously,
 * and until then the calling thread does all the work). For tests and benchmarks.
 */
export function waitForWasmWorkers(timeoutMs = 10_000): boolean {
  return getPool(loadKernels()).waitForWorkers(timeoutMs);
}

/** Chunks run by worker threads (not the caller) since the pool started: proof that threads share work. */
export function wasmWorkerChunks(): number {
  return pool?.workerChunks ?? 0;
}

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
  const workBytes = alignUp(kernels.sgemm.workspaceBytes());
  const workBase = RESERVED_BYTES;
  // Distinct A / B copies: one when broadcast (stride 0), else one per batch entry, packed tight.
  const copiesA = strideA === 0 ? 1 : batch;
  const copiesB = strideB === 0 ? 1 : batch;
  const aPtr = workBase + threads * workBytes;
  const bPtr = aPtr + alignUp(copiesA * m * k * 4);
  const cPtr = bPtr + alignUp(copiesB * k * n * 4);
  const packedBPtr = cPtr + alignUp(batch * m * n * 4);
  const flops = 2 * batch * m * n * k;
  const parallel = threads > 1 && flops >= parallelMinFlops;
  // One matmul split by rows: pack B once, together, then share it (see sharedBRowChunks).
  const shareB = parallel && batch === 1 && m >= 2 * MIN_SPLIT;
  const endPtr = packedBPtr + (shareB ? alignUp(kernels.sgemm.packedBFloats(k, n) * 4) : 0);
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
      kernels.sgemm.sgemm(
        m, n, k,
        aPtr + i * job.strideABytes, job.rsA, job.csA,
        bPtr + i * job.strideBBytes, job.rsB, job.csB,
        cPtr + i * job.strideCBytes, n, job.accumulate, workBase,
      );
    }
  } else {
    const activePool = getPool(kernels);
    if (shareB) {
      runChunks(activePool, kernels, writePackBChunks(activePool.descriptors, job, kernels, packedBPtr));
      runChunks(activePool, kernels, writeSharedBRowChunks(activePool.descriptors, job, packedBPtr, threads));
    } else {
      runChunks(activePool, kernels, writeChunks(activePool.descriptors, job, batch, threads));
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

/** A single chunk runs on the caller, without waking anyone. */
function runChunks(activePool: KernelPool, kernels: LoadedKernels, count: number): void {
  if (count === 1) runDescriptor(kernels.sgemm, activePool.descriptors, 0, RESERVED_BYTES);
  else activePool.run(count);
}

/** Phase 1 of a shared-B matmul: one chunk per (NC × KC) block of B. */
function writePackBChunks(desc: Int32Array, job: SgemmJob, kernels: LoadedKernels, packedBPtr: number): number {
  const KC = kernels.sgemm.blockSizes(2);
  const NC = kernels.sgemm.blockSizes(3);
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

function getPool(kernels: LoadedKernels): KernelPool {
  if (pool === undefined) {
    const threads = wasmThreads();
    const workBytes = alignUp(kernels.sgemm.workspaceBytes());
    heapWithCapacity(kernels, RESERVED_BYTES + threads * workBytes);
    pool = new KernelPool(threads, kernels.module, kernels.memory, kernels.sgemm, RESERVED_BYTES, workBytes);
  }
  return pool;
}

/** A float32 view of the whole shared memory, grown to at least `bytes`. */
function heapWithCapacity(kernels: LoadedKernels, bytes: number): Float32Array {
  const memory = kernels.memory;
  let size = memory.buffer.byteLength;
  if (bytes > size) {
    if (bytes > MAX_MEMORY_PAGES * PAGE_BYTES) {
      throw new RangeError(`qkv kernels: a matmul needing ${bytes} bytes of wasm memory exceeds the 4 GiB limit`);
    }
    // Grow by at least half again, so a slowly growing workload does not grow on every call.
    const wantPages = Math.min(MAX_MEMORY_PAGES, Math.max(Math.ceil(bytes / PAGE_BYTES), Math.ceil((size * 1.5) / PAGE_BYTES)));
    memory.grow(wantPages - size / PAGE_BYTES);
    size = memory.buffer.byteLength;
  }
  // A shared memory's `buffer` is a new, longer SharedArrayBuffer after each grow.
  if (heap === undefined || heap.length * 4 !== size) heap = new Float32Array(memory.buffer);
  return heap;
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

function threadsFromEnv(): number {
  const raw = process.env.QKV_THREADS;
  if (raw === undefined || raw === '') return availableParallelism();
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`QKV_THREADS must be an integer ≥ 1, got "${raw}"`);
  return threads;
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / ALIGN_BYTES) * ALIGN_BYTES;
}
