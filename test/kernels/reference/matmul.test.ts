import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matmulReference } from '../../../src/kernels/reference/matmul.ts';
import type { MatmulParams, Storage } from '../../../src/kernels/types.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { QkvValueError } from '../../../src/tensor/errors.ts';

const rng = new Rng(11);

function randomArray(size: number, dtype: 'float32' | 'float64'): Storage {
  const out = dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniformRange(-1, 1);
  return out;
}

/** The definition, with no cleverness: out[b][i][j] (+)= Σ_p op(A[b])[i][p] · op(B[b])[p][j]. */
function naiveMatmul(a: Storage, b: Storage, out: Float64Array, params: MatmulParams): void {
  const { batch, m, n, k } = params;
  const strideA = params.strideA ?? m * k;
  const strideB = params.strideB ?? k * n;
  for (let batchIndex = 0; batchIndex < batch; batchIndex++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const aIndex = (params.offsetA ?? 0) + batchIndex * strideA + (params.transA ? p * m + i : i * k + p);
          const bIndex = (params.offsetB ?? 0) + batchIndex * strideB + (params.transB ? j * k + p : p * n + j);
          sum += a[aIndex] * b[bIndex];
        }
        const outIndex = batchIndex * m * n + i * n + j;
        out[outIndex] = (params.accumulate ? out[outIndex] : 0) + sum;
      }
    }
  }
}

function assertClose(actual: Storage, expected: ArrayLike<number>, tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= tolerance * Math.max(1, Math.abs(expected[i])))) {
      assert.fail(`${label}: out[${i}] = ${actual[i]}, expected ${expected[i]} (|error| ${error.toExponential(2)} > ${tolerance})`);
    }
  }
}

test('2×2 by hand', () => {
  const out = new Float32Array(4);
  matmulReference(Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6, 7, 8]), out, { batch: 1, m: 2, n: 2, k: 2 });
  assert.deepEqual(Array.from(out), [19, 22, 43, 50]);
  // Aᵀ·B with A stored as [[1,2],[3,4]]: Aᵀ = [[1,3],[2,4]]
  matmulReference(Float32Array.from([1, 2, 3, 4]), Float32Array.from([5, 6, 7, 8]), out, { batch: 1, m: 2, n: 2, k: 2, transA: true });
  assert.deepEqual(Array.from(out), [26, 30, 38, 44]);
});

test('matches the naive triple loop for every flag combination and awkward sizes', () => {
  const sizes = [1, 7, 33];
  for (const dtype of ['float32', 'float64'] as const) {
    const tolerance = dtype === 'float32' ? 1e-5 : 1e-12;
    for (const m of sizes) for (const n of sizes) for (const k of sizes) {
      // Big sizes only on a few combinations, to keep the test fast.
      const large = (m === 33 ? 1 : 0) + (n === 33 ? 1 : 0) + (k === 33 ? 1 : 0);
      if (large >= 2 && !(m === 33 && n === 33 && k === 33)) continue;
      for (const transA of [false, true]) for (const transB of [false, true]) for (const accumulate of [false, true]) {
        for (const broadcast of ['none', 'a', 'b'] as const) {
          const batch = 3;
          const offsetA = 2;
          const offsetB = 5;
          const strideA = broadcast === 'a' ? 0 : m * k + 1; // a gap between matrices: strides are honoured, not assumed
          const strideB = broadcast === 'b' ? 0 : k * n + 3;
          const a = randomArray(offsetA + (batch - 1) * strideA + m * k, dtype);
          const b = randomArray(offsetB + (batch - 1) * strideB + k * n, dtype);
          const params: MatmulParams = { batch, m, n, k, transA, transB, accumulate, strideA, strideB, offsetA, offsetB };
          const start = randomArray(batch * m * n, dtype);
          const out = start.slice();
          const expected = Float64Array.from(start);
          matmulReference(a, b, out, params);
          naiveMatmul(a, b, expected, params);
          assertClose(out, expected, tolerance, `${dtype} m=${m} n=${n} k=${k} transA=${transA} transB=${transB} accumulate=${accumulate} broadcast=${broadcast}`);
        }
      }
    }
  }
});

test('defaults: strides M·K and K·N, offsets 0', () => {
  const m = 3, n = 4, k = 5, batch = 2;
  const a = randomArray(batch * m * k, 'float64');
  const b = randomArray(batch * k * n, 'float64');
  const out = new Float64Array(batch * m * n);
  const expected = new Float64Array(batch * m * n);
  matmulReference(a, b, out, { batch, m, n, k });
  naiveMatmul(a, b, expected, { batch, m, n, k });
  assertClose(out, expected, 1e-12, 'defaults');
});

test('k = 0 gives zeros (or leaves out untouched when accumulating)', () => {
  const out = Float64Array.from([1, 2, 3, 4]);
  matmulReference(new Float64Array(0), new Float64Array(0), out, { batch: 1, m: 2, n: 2, k: 0, accumulate: true });
  assert.deepEqual(Array.from(out), [1, 2, 3, 4]);
  matmulReference(new Float64Array(0), new Float64Array(0), out, { batch: 1, m: 2, n: 2, k: 0 });
  assert.deepEqual(Array.from(out), [0, 0, 0, 0]);
});

test('arrays too small are rejected instead of read as NaN', () => {
  assert.throws(
    () => matmulReference(new Float32Array(5), new Float32Array(6), new Float32Array(4), { batch: 1, m: 2, n: 2, k: 3 }),
    (error: Error) => error instanceof QkvValueError && /A has 5 elements/.test(error.message),
  );
  assert.throws(
    () => matmulReference(new Float32Array(6), new Float32Array(6), new Float32Array(3), { batch: 1, m: 2, n: 2, k: 3 }),
    (error: Error) => error instanceof QkvValueError && /out has 3 elements/.test(error.message),
  );
});
