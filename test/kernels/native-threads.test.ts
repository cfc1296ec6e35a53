// Each JavaScript thread has its own native pool and packing scratch, so worker_threads (the
// data-parallel trainer's workers) call the kernels side by side. Regression (issue 17): one
// process-wide pool behind a lock made two training workers take turns, half the speed of one.
//
// Two workers call sgemm (large enough to split and to pack a shared B block) and the fused
// attention forward and backward (per-thread P/dP scratch) on their own inputs at the same time,
// many rounds; every round must equal, bit for bit, what the main thread computes alone with the
// same thread count. Shared packing buffers without the lock would mix the two workers' operands.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { nativeAddonPath } from '../../src/kernels/native/index.ts';

const ROUNDS = 12;

/**
 * Runs in the main thread and, as the same source text, in each worker (plain JavaScript: a
 * function's toString() under tsx carries helpers a worker lacks): the kernels on seed-drawn inputs.
 */
const computeAllSource = `(addon, seed) => {
  let state = seed >>> 0;
  const random = (n) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      out[i] = state / 2 ** 31 - 1;
    }
    return out;
  };
  const m = 150, n = 301, k = 530;
  const a = random(m * k), b = random(k * n), c = new Float32Array(m * n);
  addon.sgemm(a, b, c, 1, m, n, k, false, true, false, m * k, k * n, 0, 0);
  const B = 2, NH = 4, T = 64, hs = 32, size = B * NH * T * hs;
  const q = random(size), key = random(size), v = random(size), dout = random(size);
  const out = new Float32Array(size), lse = new Float32Array(B * NH * T);
  addon.attentionForward(out, lse, q, key, v, B, NH, T, hs, true, null, 1 / Math.sqrt(hs));
  const dq = new Float32Array(size), dk = new Float32Array(size), dv = new Float32Array(size);
  addon.attentionBackward(dq, dk, dv, dout, q, key, v, out, lse, B, NH, T, hs, true, null, 1 / Math.sqrt(hs));
  return [c, out, lse, dq, dk, dv];
}`;
const computeAll = new Function(`return ${computeAllSource}`)() as (addon: unknown, seed: number) => Float32Array[];

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addonPath);
addon.setThreads(2);
const computeAll = ${computeAllSource};
const rounds = [];
for (let r = 0; r < workerData.rounds; r++) rounds.push(computeAll(addon, workerData.seed));
parentPort.postMessage(rounds);
`;

describe('native kernels on several JavaScript threads at once', () => {
  const addonPath = nativeAddonPath();
  const skip = existsSync(addonPath) ? false : 'the native addon is not built here';

  it('two workers, each on its own 2-thread pool, get the bits the main thread gets alone', { skip }, async () => {
    const addon = (await import('node:module')).createRequire(import.meta.url)(addonPath);
    addon.setThreads(2);
    const seeds = [11, 23];
    const expected = seeds.map((seed) => computeAll(addon, seed));
    const results = await Promise.all(seeds.map((seed) => new Promise<Float32Array[][]>((resolve, reject) => {
      const worker = new Worker(workerSource, { eval: true, workerData: { addonPath, seed, rounds: ROUNDS } });
      worker.once('message', resolve);
      worker.once('error', reject);
    })));
    for (let w = 0; w < seeds.length; w++) {
      assert.equal(results[w].length, ROUNDS);
      for (let round = 0; round < ROUNDS; round++) {
        for (let output = 0; output < expected[w].length; output++) {
          assert.deepEqual(results[w][round][output], expected[w][output], `worker ${w}, round ${round}, output ${output} differs`);
        }
      }
    }
  });
});
