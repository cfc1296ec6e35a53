/**
 * The fast float32 matmul: the MatmulParams contract (./types.ts) on the AssemblyScript sgemm
 * (./assembly/sgemm.ts), across a pool of worker threads.
 *
 * Data movement: A, B (and C when accumulating) are copied into the shared wasm memory, computed
 * there, and C is copied back out. The copies are memcpy-speed (~3 MB at 512², a few % of the
 * multiply); the packing inside sgemm would read the operands once more anyway.
 *
 * Shared memory layout (bytes): [0, 64 KiB) left to AssemblyScript, then one sgemm workspace per
 * thread, then the operands of the current call. It grows on demand and is reused, so its peak is
 * the largest matmul seen, not the number of calls.
 *
 * Splitting: batched calls split across batch entries; a single large matmul splits into row (or,
 * when M is small, column) blocks of C, one per thread, each thread packing its own A and B
 * (packing is ~2% of a 512² multiply, so sharing packed B is not worth a second barrier yet).
 */
import { availableParallelism } from 'node:os';
import { DESCRIPTOR_WORDS, KernelPool, MAX_CHUNKS, runDescriptor } from './pool.ts';
import type { MatmulParams } from './types.ts';
import { loadKernels, MAX_MEMORY_PAGES, PAGE_BYTES } from './wasm.ts';
import type { LoadedKernels, SimdVariant } from './wasm.ts';

/** Below this many flops one thread wins: waking a worker costs tens of microseconds. */
export const PARALLEL_MIN_FLOPS = 1 << 22;
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
  const endPtr = cPtr + alignUp(batch * m * n * 4);
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
  const flops = 2 * batch * m * n * k;
  if (threads === 1 || flops < PARALLEL_MIN_FLOPS) {
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
    const chunks = writeChunks(activePool.descriptors, job, batch, threads);
    if (chunks === 1) runDescriptor(kernels.sgemm, activePool.descriptors, 0, workBase);
    else activePool.run(chunks);
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

/** Fill the pool's descriptors with the chunks of `job`; returns how many. */
function writeChunks(desc: Int32Array, job: SgemmJob, batch: number, threads: number): number {
  let count = 0;
  const push = (batch0: number, batchCount: number, row0: number, rows: number, col0: number, cols: number): void => {
    const d = count * DESCRIPTOR_WORDS;
    desc[d] = rows;
    desc[d + 1] = cols;
    desc[d + 2] = job.k;
    desc[d + 3] = job.aPtr + batch0 * job.strideABytes + 4 * row0 * job.rsA;
    desc[d + 4] = job.rsA;
    desc[d + 5] = job.csA;
    desc[d + 6] = job.bPtr + batch0 * job.strideBBytes + 4 * col0 * job.csB;
    desc[d + 7] = job.rsB;
    desc[d + 8] = job.csB;
    desc[d + 9] = job.cPtr + batch0 * job.strideCBytes + 4 * (row0 * job.n + col0);
    desc[d + 10] = job.n;
    desc[d + 11] = job.accumulate;
    desc[d + 12] = batchCount;
    desc[d + 13] = job.strideABytes;
    desc[d + 14] = job.strideBBytes;
    desc[d + 15] = job.strideCBytes;
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
