// The worker pool on its own: descriptors in, chunks run across threads, errors come back to the
// caller, and the pool keeps working after one.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DESCRIPTOR_WORDS, KernelPool, OP_SGEMM } from '../../../src/kernels/wasm/pool.ts';
import { loadKernels, PAGE_BYTES } from '../../../src/kernels/wasm/loader.ts';

describe('KernelPool', () => {
  const kernels = loadKernels();
  const workBytes = Math.ceil(kernels.exports.workspaceBytes() / 64) * 64;
  // This process runs no matmulWasm, so the pool may use the region matmulWasm would lay out.
  const workBase = 64 * 1024;
  const dataBase = workBase + 2 * workBytes;
  const size = 64;
  const chunks = 6;
  const bytesNeeded = dataBase + (chunks * 3 + 1) * size * size * 4;
  if (kernels.memory.buffer.byteLength < bytesNeeded) {
    kernels.memory.grow(Math.ceil((bytesNeeded - kernels.memory.buffer.byteLength) / PAGE_BYTES));
  }
  const pool = new KernelPool(2, kernels.module, kernels.memory, kernels.exports, workBase, workBytes);
  after(() => pool.close());

  /** Chunk i: C_i (64×64) = A_i · I, so C_i must equal A_i exactly. */
  function writeIdentityJob(badChunk = -1): Float32Array {
    const heap = new Float32Array(kernels.memory.buffer);
    const matrixBytes = size * size * 4;
    const identity = dataBase;
    heap.fill(0, identity >>> 2, (identity + matrixBytes) >>> 2);
    for (let i = 0; i < size; i++) heap[(identity >>> 2) + i * size + i] = 1;
    for (let c = 0; c < chunks; c++) {
      const a = dataBase + (1 + 2 * c) * matrixBytes;
      const out = a + matrixBytes;
      for (let i = 0; i < size * size; i++) heap[(a >>> 2) + i] = c * 10_000 + i;
      const d = c * DESCRIPTOR_WORDS;
      // An address past the end of memory makes the wasm trap: the "bad" chunk.
      const aPointer = c === badChunk ? 0x7fff0000 : a;
      pool.descriptors.set([OP_SGEMM, size, size, size, aPointer, size, 1, identity, size, 1, out, size, 0, 1, 0, 0, 0], d);
    }
    return heap;
  }

  it('starts its worker and runs every chunk once, across both threads', () => {
    assert.equal(pool.waitForWorkers(), true);
    for (let round = 0; round < 20; round++) {
      const heap = writeIdentityJob();
      pool.run(chunks);
      for (let c = 0; c < chunks; c++) {
        const a = (dataBase + (1 + 2 * c) * size * size * 4) >>> 2;
        for (let i = 0; i < size * size; i += 97) {
          assert.equal(heap[a + size * size + i], heap[a + i], `round ${round}, chunk ${c}, element ${i}`);
        }
      }
    }
    // Tiny chunks: the caller may finish them all before the worker wakes; keep going up to 5 s.
    const deadline = performance.now() + 5000;
    while (pool.workerChunks === 0 && performance.now() < deadline) {
      writeIdentityJob();
      pool.run(chunks);
    }
    assert.ok(pool.workerChunks > 0, 'the worker thread ran no chunk');
  });

  it('reports a chunk that traps, and runs the next job normally', () => {
    writeIdentityJob(3);
    assert.throws(() => pool.run(chunks), /out of bounds|worker thread failed/);
    writeIdentityJob();
    pool.run(chunks);
  });

  it('refuses more chunks than it has descriptors for', () => {
    assert.throws(() => pool.run(5000), /at most 1024/);
  });
});
