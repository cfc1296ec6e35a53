/**
 * What every wasm kernel shares in this process: the thread count, the worker pool, and the
 * shared memory's layout and growth.
 *
 * Shared memory layout (bytes): [0, 64 KiB) left to AssemblyScript, then one sgemm workspace per
 * thread (slot 0 = the calling thread), then the arena: the operands and scratch of the current
 * call, from `arenaStart()`. It grows on demand and is reused, so its peak is the largest call
 * seen, not the number of calls.
 */
import { KernelPool, runDescriptor } from './pool.ts';
import { loadKernels, MAX_MEMORY_PAGES, PAGE_BYTES } from './loader.ts';
import type { LoadedKernels, SimdVariant } from './loader.ts';
import { defaultThreadCount } from './platform.ts';

export const RESERVED_BYTES = 64 * 1024;
const ALIGN_BYTES = 64;

let threadCount: number | undefined;
let pool: KernelPool | undefined;
let heap: Float32Array | undefined;

/** Threads the wasm kernels use: `setWasmThreads`, else `QKV_THREADS`, else the core count. */
export function wasmThreads(): number {
  threadCount ??= defaultThreadCount();
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
  return kernelPool(loadKernels()).waitForWorkers(timeoutMs);
}

/**
 * Start the worker pool and wait, without blocking this thread, until its workers run: where
 * the workers' start needs this thread's event loop (a Web Worker starting nested workers), a
 * blocking wait would never end. False on timeout.
 */
export async function startWasmWorkers(timeoutMs = 10_000): Promise<boolean> {
  const activePool = kernelPool(loadKernels());
  const deadline = performance.now() + timeoutMs;
  while (!activePool.waitForWorkers(0)) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** Chunks run by worker threads (not the caller) since the pool started: proof that threads share work. */
export function wasmWorkerChunks(): number {
  return pool?.workerChunks ?? 0;
}

/** The pool for the current thread count, started on first use. */
export function kernelPool(kernels: LoadedKernels): KernelPool {
  if (pool === undefined) {
    const threads = wasmThreads();
    const workBytes = workspaceBytes(kernels);
    heapWithCapacity(kernels, RESERVED_BYTES + threads * workBytes);
    pool = new KernelPool(threads, kernels.module, kernels.memory, kernels.exports, RESERVED_BYTES, workBytes);
  }
  return pool;
}

/** Run descriptors 0..count-1; a single chunk runs on the caller, without waking anyone. */
export function runChunks(kernels: LoadedKernels, count: number): void {
  const activePool = kernelPool(kernels);
  if (count === 1) runDescriptor(kernels.exports, activePool.descriptors, 0, RESERVED_BYTES, 0);
  else activePool.run(count);
}

/** Per-thread sgemm workspace bytes; thread slot s's starts at RESERVED_BYTES + s · this. */
export function workspaceBytes(kernels: LoadedKernels): number {
  return alignUp(kernels.exports.workspaceBytes());
}

/** First byte of the arena, after every thread's workspace. */
export function arenaStart(kernels: LoadedKernels): number {
  return RESERVED_BYTES + wasmThreads() * workspaceBytes(kernels);
}

/** A float32 view of the whole shared memory, grown to at least `bytes`. */
export function heapWithCapacity(kernels: LoadedKernels, bytes: number): Float32Array {
  const memory = kernels.memory;
  let size = memory.buffer.byteLength;
  if (bytes > size) {
    if (bytes > MAX_MEMORY_PAGES * PAGE_BYTES) {
      throw new RangeError(`qkv kernels: a call needing ${bytes} bytes of wasm memory exceeds the 4 GiB limit`);
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

/**
 * Bump allocation in the arena for one kernel call: take the operands' places, `commit` (grows
 * the memory once), then copy in through the returned view. The next call starts over at
 * `arenaStart`, so nothing is freed and nothing leaks.
 */
export class Arena {
  private next: number;
  constructor(private readonly kernels: LoadedKernels) {
    this.next = arenaStart(kernels);
  }
  /** Byte address of `count` float32 (or int32) values. */
  floats(count: number): number {
    return this.bytes(count * 4);
  }
  bytes(count: number): number {
    const at = this.next;
    this.next += alignUp(count);
    return at;
  }
  /** One block of scratch per thread: thread slot s uses base + s · bytesPerThread. */
  perThread(bytes: number): { base: number; bytesPerThread: number } {
    const bytesPerThread = alignUp(bytes);
    return { base: this.bytes(bytesPerThread * wasmThreads()), bytesPerThread };
  }
  /** Grow the memory to hold everything allocated; returns the float32 view to copy through. */
  commit(): Float32Array {
    return heapWithCapacity(this.kernels, this.next);
  }
}

export function alignUp(bytes: number): number {
  return Math.ceil(bytes / ALIGN_BYTES) * ALIGN_BYTES;
}
