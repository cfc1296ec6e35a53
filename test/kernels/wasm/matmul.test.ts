// The wasm sgemm against an independent oracle (a naive float64 triple loop written here, not
// the reference kernel), for every flag combination, awkward shapes, batches with broadcast
// strides and offsets, on 1 and 2 threads.
//
// Tolerance: |fast − oracle| ≤ 1e-4 · (1 + |oracle|) · √K. Float32 accumulation error grows
// like √K · eps32 (6e-8) times the size of the terms (|a|, |b| < 1 here); the bound leaves
// about 100× headroom and still catches any wrong index, missed edge or lost accumulate.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { matmulWasm, setWasmParallelMinFlops, setWasmThreads, waitForWasmWorkers, wasmThreads, wasmVariant, wasmWorkerChunks } from '../../../src/kernels/wasm/matmul.ts';
import type { MatmulParams } from '../../../src/kernels/types.ts';

/** Deterministic uniform values in [-1, 1) (a small LCG: no dependency on the RNG module). */
function randomArray(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** out[b] (+)= op(A[b])·op(B[b]) in float64, straight from the definition in types.ts. */
function naiveMatmul(a: Float32Array, b: Float32Array, out: Float64Array, p: MatmulParams): void {
  const { batch, m, n, k } = p;
  const strideA = p.strideA ?? m * k;
  const strideB = p.strideB ?? k * n;
  for (let bi = 0; bi < batch; bi++) {
    const a0 = (p.offsetA ?? 0) + bi * strideA;
    const b0 = (p.offsetB ?? 0) + bi * strideB;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let q = 0; q < k; q++) {
          const av = p.transA ? a[a0 + q * m + i] : a[a0 + i * k + q];
          const bv = p.transB ? b[b0 + j * k + q] : b[b0 + q * n + j];
          sum += av * bv;
        }
        const o = bi * m * n + i * n + j;
        out[o] = (p.accumulate ? out[o] : 0) + sum;
      }
    }
  }
}

/** Run the wasm kernel and the oracle on the same random inputs; fail naming the index and error. */
function checkAgainstOracle(p: MatmulParams, seed: number, padA = 0, padB = 0): void {
  const strideA = p.strideA ?? p.m * p.k;
  const strideB = p.strideB ?? p.k * p.n;
  const lengthA = (p.offsetA ?? 0) + (p.batch - 1) * strideA + p.m * p.k + padA;
  const lengthB = (p.offsetB ?? 0) + (p.batch - 1) * strideB + p.k * p.n + padB;
  const a = randomArray(lengthA, seed);
  const b = randomArray(lengthB, seed + 1);
  const initial = randomArray(p.batch * p.m * p.n, seed + 2);
  const fast = Float32Array.from(initial);
  const oracle = Float64Array.from(initial);
  matmulWasm(a, b, fast, p);
  naiveMatmul(a, b, oracle, p);
  const tolerance = 1e-4 * Math.sqrt(Math.max(p.k, 1));
  for (let i = 0; i < oracle.length; i++) {
    const error = Math.abs(fast[i] - oracle[i]);
    if (!(error <= tolerance * (1 + Math.abs(oracle[i])))) {
      assert.fail(
        `matmul wasm (${wasmVariant()}, ${wasmThreads()} threads) ${JSON.stringify(p)}: out[${i}] = ${fast[i]}, oracle ${oracle[i]}, ` +
          `|error| ${error.toExponential(3)} > ${(tolerance * (1 + Math.abs(oracle[i]))).toExponential(3)}`,
      );
    }
  }
}

const flagCombinations: Array<Pick<MatmulParams, 'transA' | 'transB' | 'accumulate'>> = [];
for (const transA of [false, true]) for (const transB of [false, true]) for (const accumulate of [false, true]) flagCombinations.push({ transA, transB, accumulate });

// Split anything from 2^22 flops across threads (the default threshold is higher), so that the
// threaded paths run on shapes the float64 oracle checks quickly.
const TEST_PARALLEL_MIN_FLOPS = 1 << 22;
setWasmParallelMinFlops(TEST_PARALLEL_MIN_FLOPS);

// (m, n, k): 1, 7, 33, 65, 129 and non-multiples of the 4×8 tile, plus shapes that cross the
// blocking (K > KC = 256, M > MC = 96, N > NC = 1024) and shapes large enough to run threaded
// (on 2 threads: rows on a shared packed B of 1 or 2 blocks, or column blocks when M is small).
const shapes: Array<[number, number, number]> = [
  [1, 1, 1], [1, 7, 33], [7, 1, 65], [33, 65, 7], [65, 33, 129], [129, 129, 129],
  [7, 129, 1], [4, 8, 16], [5, 9, 3], [129, 7, 300], [100, 1030, 9], [101, 24, 520], [8, 2050, 130], [64, 1030, 40], [80, 100, 300],
];

for (const threads of [1, 2]) {
  describe(`matmul wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('starts its workers', () => {
      setWasmThreads(threads);
      assert.equal(wasmThreads(), threads);
      assert.equal(waitForWasmWorkers(), true, 'workers did not start within 10 s');
    });

    it('matches the oracle for every transA / transB / accumulate and awkward shapes', () => {
      let seed = 1;
      for (const [m, n, k] of shapes) {
        for (const flags of flagCombinations) checkAgainstOracle({ batch: 1, m, n, k, ...flags }, seed++);
      }
    });

    it('matches the oracle on batches: broadcast (stride 0), offsets, gaps between entries', () => {
      let seed = 100;
      for (const flags of flagCombinations) {
        checkAgainstOracle({ batch: 3, m: 7, n: 33, k: 65, strideA: 0, ...flags }, seed++);
        checkAgainstOracle({ batch: 3, m: 33, n: 7, k: 65, strideB: 0, offsetB: 5, ...flags }, seed++);
        checkAgainstOracle({ batch: 2, m: 17, n: 19, k: 23, strideA: 17 * 23 + 3, strideB: 19 * 23 + 11, offsetA: 2, offsetB: 1, ...flags }, seed++);
        // Big enough to run threaded: split by batch entries, and (3 entries on 2 threads) by rows too.
        checkAgainstOracle({ batch: 4, m: 65, n: 100, k: 129, ...flags }, seed++);
        checkAgainstOracle({ batch: 3, m: 70, n: 50, k: 300, strideB: 0, ...flags }, seed++);
      }
    });

    if (threads > 1) {
      it('really runs chunks on the worker threads', () => {
        const before = wasmWorkerChunks();
        const n = 256;
        const a = randomArray(n * n, 7), b = randomArray(n * n, 8), out = new Float32Array(n * n);
        // On a machine busy with other work a worker can miss a few jobs; give it up to 5 s.
        const deadline = performance.now() + 5000;
        let calls = 0;
        while (wasmWorkerChunks() === before && performance.now() < deadline) {
          matmulWasm(a, b, out, { batch: 1, m: n, n, k: n });
          calls++;
        }
        assert.ok(wasmWorkerChunks() > before, `no chunk ran on a worker in ${calls} matmuls of ${n}³`);
      });
    }

    if (threads > 1) {
      it('stays right over many back-to-back jobs of changing shapes (the claim protocol)', () => {
        // Each job is just above the threading threshold, so every one is split, and a worker
        // that wakes late meets the next job's descriptors; a stale claim would show here.
        let seed = 1000;
        for (let job = 0; job < 40; job++) {
          const k = 24 + (job % 9);
          const m = 64 + 8 * (job % 7) + (job % 3);
          const n = Math.ceil(TEST_PARALLEL_MIN_FLOPS / 2 / (m * k)) + (job % 11);
          checkAgainstOracle({ batch: 1 + (job % 2), m, n, k, transA: job % 4 === 1, transB: job % 3 === 2, accumulate: job % 5 === 0 }, seed++);
        }
      });
    }

    it('handles k = 0 and empty outputs', () => {
      const out = new Float32Array([1, 2, 3, 4, 5, 6]);
      matmulWasm(new Float32Array(0), new Float32Array(0), out, { batch: 1, m: 2, n: 3, k: 0, accumulate: true });
      assert.deepEqual([...out], [1, 2, 3, 4, 5, 6]);
      matmulWasm(new Float32Array(0), new Float32Array(0), out, { batch: 1, m: 2, n: 3, k: 0 });
      assert.deepEqual([...out], [0, 0, 0, 0, 0, 0]);
      matmulWasm(new Float32Array(0), new Float32Array(0), new Float32Array(0), { batch: 0, m: 2, n: 3, k: 4 });
    });
  });
}

describe('matmul wasm, errors and process life', () => {
  it('rejects arrays too short for the params, naming the operand', () => {
    assert.throws(
      () => matmulWasm(new Float32Array(5), new Float32Array(6), new Float32Array(4), { batch: 1, m: 2, n: 2, k: 3 }),
      /a needs at least 6 elements.*found 5/,
    );
    assert.throws(
      () => matmulWasm(new Float32Array(6), new Float32Array(6), new Float32Array(7), { batch: 2, m: 2, n: 2, k: 3, strideA: 0, strideB: 0 }),
      /out needs at least 8 elements/,
    );
    assert.throws(() => setWasmThreads(0), /integer ≥ 1/);
  });

  it('lets a script using 2 threads exit on its own', () => {
    const script = [
      "import { matmulWasm, setWasmThreads, waitForWasmWorkers } from './src/kernels/wasm/matmul.ts';",
      'setWasmThreads(2); waitForWasmWorkers();',
      'const n = 256; const out = new Float32Array(n * n);',
      'matmulWasm(new Float32Array(n * n).fill(1), new Float32Array(n * n).fill(1), out, { batch: 1, m: n, n, k: n });',
      'console.log(out[0]);',
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 0, `exit status ${result.status}, signal ${result.signal}, stderr: ${result.stderr}`);
    assert.equal(result.stdout.trim(), '256');
  });
});
