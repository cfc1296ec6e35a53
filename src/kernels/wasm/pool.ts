/**
 * A pool of worker threads that run wasm kernel chunks on the shared `WebAssembly.Memory`, while
 * the calling thread takes chunks too and then blocks (`Atomics.wait`) until all are done: the
 * kernels stay synchronous, as the tensor engine calls them.
 *
 * Protocol, all in one small SharedArrayBuffer (`control`):
 * - The caller writes chunk descriptors, then bumps SEQ and wakes the workers.
 * - Everyone claims chunks by compare-and-swap on CLAIM = (seq << 11) | nextChunk, so a worker
 *   that wakes late for an old job can never claim a chunk of a newer one, and a worker that has
 *   not started yet simply takes nothing (the caller does its share).
 * - Each finished chunk adds 1 to DONE; the caller waits until DONE = number of chunks, then
 *   closes CLAIM (index 0x7ff) before it writes the next job's descriptors.
 * Workers are unref'd, so an idle pool never keeps the process alive. How a thread starts is the
 * host's (./platform.ts: Node worker_threads; ./platform-browser.ts: Web Workers).
 */
import type { KernelExports, WasmMemory, WasmModule } from './loader.ts';
import { startKernelThread, type KernelThread } from './platform.ts';

/** Int32 slots of the control block. */
const SEQ = 0;
const CLAIM = 1;
const DONE = 2;
const N_CHUNKS = 3;
const ERROR = 4;
const READY = 5;
const WORK_BASE = 6;
const WORK_BYTES = 7;
const WORKER_CHUNKS = 8;
const DESCRIPTORS = 16;

/**
 * A chunk descriptor is DESCRIPTOR_WORDS int32 words: an op, then its arguments. Pointers are
 * stored as int32; wasm reads the same bits as an unsigned address.
 * - OP_SGEMM: m, n, k, a, rsA, csA, b, rsB, csB, c, ldc, accumulate, count, strideA, strideB,
 *   strideC: `count` sgemm calls, the i-th on a, b, c advanced by i·stride bytes.
 * - OP_SGEMM_PACKED_B: m, n, k, a, rsA, csA, packedB, c, ldc, accumulate.
 * - OP_PACK_B: k, n, b, rsB, csB, packedB, jc, pc (one block of B into the shared packed B).
 * - OP_ATTENTION_FORWARD: T, hs, NH, head0, count, q, k, v, out, lse, keyPad, causal, scaleBits,
 *   scratchBase, scratchBytes (thread slot s uses scratchBase + s·scratchBytes).
 * - OP_ATTENTION_BACKWARD: T, hs, NH, head0, count, q, k, v, out, dout, lse, dq, dk, dv, keyPad,
 *   causal, scaleBits, scratchBase, scratchBytes.
 * - OP_QMATMUL: format, M, N, K, n0, n1, codes, scales, groupSums, w, out (columns [n0, n1) of a
 *   quantised matmul on activations already quantised; ../assembly/quant.ts).
 */
export const DESCRIPTOR_WORDS = 20;
export const OP_SGEMM = 0;
export const OP_SGEMM_PACKED_B = 1;
export const OP_PACK_B = 2;
export const OP_ATTENTION_FORWARD = 3;
export const OP_ATTENTION_BACKWARD = 4;
export const OP_QMATMUL = 5;

/**
 * Runs one descriptor. One source text for both sides: the workers are eval'd from a string, and
 * the caller compiles the same text below, so the two cannot drift apart.
 */
const RUN_DESCRIPTOR_SOURCE = `function runDescriptor(kernels, desc, d, work, slot) {
  switch (desc[d]) {
    case ${OP_SGEMM}: {
      const count = desc[d + 13];
      for (let i = 0; i < count; i++) {
        kernels.sgemm(desc[d + 1], desc[d + 2], desc[d + 3],
          desc[d + 4] + i * desc[d + 14], desc[d + 5], desc[d + 6],
          desc[d + 7] + i * desc[d + 15], desc[d + 8], desc[d + 9],
          desc[d + 10] + i * desc[d + 16], desc[d + 11], desc[d + 12], work);
      }
      return;
    }
    case ${OP_SGEMM_PACKED_B}:
      kernels.sgemmPackedB(desc[d + 1], desc[d + 2], desc[d + 3], desc[d + 4], desc[d + 5], desc[d + 6],
        desc[d + 7], desc[d + 8], desc[d + 9], desc[d + 10], work);
      return;
    case ${OP_PACK_B}:
      kernels.packBBlockAt(desc[d + 1], desc[d + 2], desc[d + 3], desc[d + 4], desc[d + 5], desc[d + 6], desc[d + 7], desc[d + 8]);
      return;
    case ${OP_ATTENTION_FORWARD}:
      kernels.attentionForward(desc[d + 1], desc[d + 2], desc[d + 3], desc[d + 4], desc[d + 5],
        desc[d + 6], desc[d + 7], desc[d + 8], desc[d + 9], desc[d + 10], desc[d + 11],
        desc[d + 12], desc[d + 13], desc[d + 14] + slot * desc[d + 15], work);
      return;
    case ${OP_ATTENTION_BACKWARD}:
      kernels.attentionBackward(desc[d + 1], desc[d + 2], desc[d + 3], desc[d + 4], desc[d + 5],
        desc[d + 6], desc[d + 7], desc[d + 8], desc[d + 9], desc[d + 10], desc[d + 11],
        desc[d + 12], desc[d + 13], desc[d + 14], desc[d + 15],
        desc[d + 16], desc[d + 17], desc[d + 18] + slot * desc[d + 19], work);
      return;
    case ${OP_QMATMUL}:
      kernels.qmatmulColumns(desc[d + 1], desc[d + 2], desc[d + 3], desc[d + 4], desc[d + 5], desc[d + 6],
        desc[d + 7], desc[d + 8], desc[d + 9], desc[d + 10], desc[d + 11]);
      return;
    default:
      throw new Error('qkv kernels: unknown chunk op ' + desc[d]);
  }
}`;

/** `runDescriptor(kernels, words, d, work, slot)`: run the descriptor starting at words[d] as thread `slot`. */
export const runDescriptor = new Function(`${RUN_DESCRIPTOR_SOURCE}\nreturn runDescriptor;`)() as (kernels: KernelExports, words: Int32Array, d: number, work: number, slot: number) => void;

export const MAX_CHUNKS = 1024;
/** How long an idle worker, and a caller waiting for workers, spin before they sleep. */
const WORKER_SPIN_MS = 0.2;
const CALLER_SPIN_MS = 1;
const INDEX_BITS = 11;
const CLOSED = (1 << INDEX_BITS) - 1;
const SEQ_MASK = 0xfffff;

/** A worker's main function, run on its `KernelThreadData`: the chunks of each job. Kept in step with `KernelPool.drain`. */
const WORKER_MAIN = `function kernelThreadMain({ module, memory, control, slot }) {
const ctrl = new Int32Array(control);
const abort = () => { throw new Error('qkv kernels: WebAssembly abort'); };
const kernels = new WebAssembly.Instance(module, { env: { memory, abort } }).exports;
${RUN_DESCRIPTOR_SOURCE}
const work = (Atomics.load(ctrl, ${WORK_BASE}) >>> 0) + slot * Atomics.load(ctrl, ${WORK_BYTES});
Atomics.add(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
let seen = 0;
for (;;) {
  // Spin a little before sleeping: the next job often follows at once (the next matmul, the
  // second phase of this one), and on a busy machine a sleeping thread can wait milliseconds
  // for its core back.
  const spinUntil = performance.now() + ${WORKER_SPIN_MS};
  while (Atomics.load(ctrl, ${SEQ}) === seen && performance.now() < spinUntil);
  Atomics.wait(ctrl, ${SEQ}, seen);
  seen = Atomics.load(ctrl, ${SEQ});
  const tag = seen << ${INDEX_BITS};
  const total = Atomics.load(ctrl, ${N_CHUNKS});
  for (;;) {
    const claim = Atomics.load(ctrl, ${CLAIM});
    if ((claim & ~${CLOSED}) !== tag) break;
    const index = claim & ${CLOSED};
    if (index >= total) break;
    if (Atomics.compareExchange(ctrl, ${CLAIM}, claim, claim + 1) !== claim) continue;
    try {
      runDescriptor(kernels, ctrl, ${DESCRIPTORS} + index * ${DESCRIPTOR_WORDS}, work, slot);
    } catch (error) {
      Atomics.store(ctrl, ${ERROR}, 1);
    }
    Atomics.add(ctrl, ${WORKER_CHUNKS}, 1);
    if (Atomics.add(ctrl, ${DONE}, 1) + 1 === total) Atomics.notify(ctrl, ${DONE});
  }
}
}`;

export class KernelPool {
  /** Threads that compute, the calling one included. */
  readonly threads: number;
  /** Descriptor words; write a job's chunks here, then call `run`. */
  readonly descriptors: Int32Array;
  private readonly control: Int32Array;
  private readonly workers: KernelThread[] = [];
  private seq = 0;

  /**
   * `threads - 1` workers; slot s (0 = caller) uses `workBytes` of scratch at workBase + s·workBytes.
   */
  constructor(threads: number, module: WasmModule, memory: WasmMemory, private readonly kernels: KernelExports, readonly workBase: number, readonly workBytes: number) {
    this.threads = threads;
    const buffer = new SharedArrayBuffer((DESCRIPTORS + MAX_CHUNKS * DESCRIPTOR_WORDS) * 4);
    this.control = new Int32Array(buffer);
    this.descriptors = this.control.subarray(DESCRIPTORS);
    this.control[WORK_BASE] = workBase | 0;
    this.control[WORK_BYTES] = workBytes;
    for (let slot = 1; slot < threads; slot++) {
      this.workers.push(startKernelThread(WORKER_MAIN, { module, memory, control: buffer, slot }));
    }
  }

  /** Block until every worker has started (they start asynchronously); false on timeout. */
  waitForWorkers(timeoutMs = 10_000): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const ready = Atomics.load(this.control, READY);
      if (ready >= this.workers.length) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.control, READY, ready, left);
    }
  }

  /** Run chunks 0..count-1 of `descriptors` across the pool; returns when all are done. */
  run(count: number): void {
    if (count > MAX_CHUNKS) throw new RangeError(`KernelPool.run: ${count} chunks, at most ${MAX_CHUNKS}`);
    const ctrl = this.control;
    this.seq = (this.seq + 1) & SEQ_MASK;
    const tag = this.seq << INDEX_BITS;
    Atomics.store(ctrl, N_CHUNKS, count);
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, ERROR, 0);
    Atomics.store(ctrl, CLAIM, tag);
    Atomics.store(ctrl, SEQ, this.seq);
    if (this.workers.length > 0) Atomics.notify(ctrl, SEQ);
    // A chunk that throws on this thread still counts as done, so the wait below cannot hang.
    const error = this.drain(tag, count);
    // The last chunks are running on workers: spin briefly (as they do) before sleeping.
    const spinUntil = performance.now() + CALLER_SPIN_MS;
    while (Atomics.load(ctrl, DONE) < count && performance.now() < spinUntil);
    for (;;) {
      const done = Atomics.load(ctrl, DONE);
      if (done >= count) break;
      Atomics.wait(ctrl, DONE, done);
    }
    Atomics.store(ctrl, CLAIM, tag | CLOSED);
    if (error !== undefined) throw error;
    if (Atomics.load(ctrl, ERROR) !== 0) throw new Error('qkv kernels: a worker thread failed while running a matmul chunk');
  }

  /** Chunks the workers (not the calling thread) have run since the pool started. */
  get workerChunks(): number {
    return Atomics.load(this.control, WORKER_CHUNKS);
  }

  /** Stop the workers; the pool cannot run afterwards. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    this.workers.length = 0;
  }

  /** Claim and run chunks until none is left; returns the first error thrown, if any. */
  private drain(tag: number, total: number): unknown {
    const ctrl = this.control;
    const work = this.workBase;
    let firstError: unknown;
    for (;;) {
      const claim = Atomics.load(ctrl, CLAIM);
      if ((claim & ~CLOSED) !== tag) return firstError;
      const index = claim & CLOSED;
      if (index >= total) return firstError;
      if (Atomics.compareExchange(ctrl, CLAIM, claim, claim + 1) !== claim) continue;
      try {
        runDescriptor(this.kernels, this.descriptors, index * DESCRIPTOR_WORDS, work, 0);
      } catch (error) {
        firstError ??= error;
      }
      if (Atomics.add(ctrl, DONE, 1) + 1 === total) Atomics.notify(ctrl, DONE);
    }
  }
}
