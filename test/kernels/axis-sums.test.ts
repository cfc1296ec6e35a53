// axisSums, the middle-axis reduction of an (outer, C, inner) block (a sum or mean over dim 1 of
// (B, C, L), or any run of consecutive axes of a contiguous tensor): the native kernel against
// the TypeScript reference at awkward shapes (1, 7, 33, 65, 129) on 1 and 2 threads, and the
// tensor op `sum` that now calls it against a float64 copy summed on the reference.
//
// Tolerance: bit for bit. Both sum in float64 in c order and round once to float32.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getKernelInfo, setKernelBackend, setKernelThreads, waitForKernelThreads } from '../../src/kernels/index.ts';
import { nativeInfo, setNativeThreads } from '../../src/kernels/native/index.ts';
import { referenceBackend } from '../../src/kernels/reference/index.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { nativeBackendOrUndefined, randomArray } from './fixtures.ts';

const native = nativeBackendOrUndefined();

/**
 * The native pool's size, set directly: `setKernelThreads` resizes it only while native is the
 * active backend, and CI also runs these tests under QKV_KERNELS=wasm|reference.
 */
function useNativeThreads(threads: number): void {
  setKernelThreads(threads);
  assert.equal(waitForKernelThreads(), true);
  setNativeThreads(threads);
  assert.equal(nativeInfo().threads, threads);
}
const sizes = [1, 7, 33, 65, 129];

for (const threads of [1, 2]) {
  describe(`axisSums, native on ${threads} thread${threads > 1 ? 's' : ''}, against the reference`, { skip: native === undefined && 'the native addon is not built' }, () => {
    it('every (outer, C, inner) of 1, 7, 33, 65, 129 at an offset, with a mean scale', () => {
      useNativeThreads(threads);
      let seed = 1;
      for (const outer of sizes) {
        for (const C of sizes) {
          for (const inner of sizes) {
            const offset = 5;
            const a = randomArray(offset + outer * C * inner, seed++, 1);
            const out = new Float32Array(outer * inner).fill(Number.NaN);
            const expected = new Float32Array(outer * inner);
            native!.axisSums(out, a, offset, outer, C, inner, 1 / C);
            referenceBackend.axisSums(expected, a, offset, outer, C, inner, 1 / C);
            assert.deepEqual(out, expected, `axisSums outer ${outer} C ${C} inner ${inner}`);
          }
        }
      }
    });

    it('split paths: many blocks (split by block) and one wide block (split by columns), C = 0 gives zeros', () => {
      useNativeThreads(threads);
      for (const [outer, C, inner] of [[129, 65, 33], [1, 300, 1030], [3, 129, 257], [2, 0, 70]] as const) {
        const a = randomArray(outer * C * inner, outer + C + inner, 1);
        const out = new Float32Array(outer * inner).fill(Number.NaN);
        const expected = new Float32Array(outer * inner);
        native!.axisSums(out, a, 0, outer, C, inner, 1);
        referenceBackend.axisSums(expected, a, 0, outer, C, inner, 1);
        assert.deepEqual(out, expected, `axisSums outer ${outer} C ${C} inner ${inner}`);
      }
    });

    it('a short array is a RangeError naming the kernel and the array', () => {
      assert.throws(() => native!.axisSums(new Float32Array(6), new Float32Array(10), 0, 2, 2, 3, 1), /axisSums \(native\).*\ba\b/);
      assert.throws(() => native!.axisSums(new Float32Array(5), new Float32Array(12), 0, 2, 2, 3, 1), /axisSums \(native\).*out/);
    });
  });
}

/** Σ over axes [first, last] of a row-major array of `shape`, in float64: the test's own loop. */
function naiveBlockSum(values: Float32Array, shape: readonly number[], first: number, last: number): Float64Array {
  const outer = shape.slice(0, first).reduce((p, d) => p * d, 1);
  const C = shape.slice(first, last + 1).reduce((p, d) => p * d, 1);
  const inner = shape.slice(last + 1).reduce((p, d) => p * d, 1);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) for (let c = 0; c < C; c++) for (let i = 0; i < inner; i++) out[o * inner + i] += values[(o * C + c) * inner + i];
  return out;
}

describe('Tensor.sum / mean over middle axes (the axisSums path) against a float64 loop', () => {
  for (const backend of ['reference', ...(native === undefined ? [] : ['native'] as const)] as const) {
    it(`on ${backend}: dim 1 of (7, 65, 129), dims 1–2 of (33, 7, 65, 3), dim 1 of (1, 129, 33); mean over dim 1`, () => {
      const original = getKernelInfo().backend;
      setKernelBackend(backend);
      try {
        for (const [shape, first, last] of [[[7, 65, 129], 1, 1], [[33, 7, 65, 3], 1, 2], [[1, 129, 33], 1, 1]] as const) {
          const size = shape.reduce((p: number, d: number) => p * d, 1);
          const values = randomArray(size, size, 1);
          const x = new Tensor(values, [...shape]);
          const axes = Array.from({ length: last - first + 1 }, (_, j) => first + j);
          const got = x.sum(axes).contiguousData();
          const want = naiveBlockSum(values, shape, first, last);
          assert.equal(got.length, want.length);
          for (let i = 0; i < want.length; i++) assert.equal(got[i], Math.fround(want[i]), `sum ${shape} over ${axes}: index ${i}`);
          const mean = x.mean(1).contiguousData();
          const mean64 = naiveBlockSum(values, shape, 1, 1);
          for (let i = 0; i < mean64.length; i++) {
            const expected = mean64[i] / shape[1];
            assert.ok(Math.abs(mean[i] - expected) <= 1e-7 * Math.max(1, Math.abs(expected)), `mean ${shape}: index ${i}`);
          }
        }
      } finally {
        setKernelBackend(original);
      }
    });
  }
});

// axisMoments (the two passes of a variance): both in float64 in c order; 1e-12 relative allows
// for a compiler that contracts d·d + squares into an FMA (ARM), bit for bit otherwise.
for (const threads of [1, 2]) {
  describe(`axisMoments, native on ${threads} thread${threads > 1 ? 's' : ''}, against the reference`, { skip: native === undefined && 'the native addon is not built' }, () => {
    it('every (outer, C, inner) of 1, 7, 33, 65, 129 at an offset, and both split paths', () => {
      setKernelThreads(threads);
      assert.equal(waitForKernelThreads(), true);
      let seed = 1000;
      const shapes: [number, number, number][] = [[129, 65, 33], [1, 300, 1030], [3, 129, 257]];
      for (const outer of sizes) for (const C of sizes) for (const inner of sizes) shapes.push([outer, C, inner]);
      for (const [outer, C, inner] of shapes) {
        const a = randomArray(3 + outer * C * inner, seed++, 2);
        const means = new Float64Array(outer * inner).fill(Number.NaN), squares = new Float64Array(outer * inner).fill(Number.NaN);
        const wantMeans = new Float64Array(outer * inner), wantSquares = new Float64Array(outer * inner);
        native!.axisMoments(means, squares, a, 3, outer, C, inner);
        referenceBackend.axisMoments(wantMeans, wantSquares, a, 3, outer, C, inner);
        for (let i = 0; i < wantMeans.length; i++) {
          assert.ok(Math.abs(means[i] - wantMeans[i]) <= 1e-12 * Math.max(1, Math.abs(wantMeans[i])), `means ${outer}×${C}×${inner} [${i}]: ${means[i]} vs ${wantMeans[i]}`);
          assert.ok(Math.abs(squares[i] - wantSquares[i]) <= 1e-12 * Math.max(1, Math.abs(wantSquares[i])), `squares ${outer}×${C}×${inner} [${i}]: ${squares[i]} vs ${wantSquares[i]}`);
        }
      }
    });

    it('a short means array is a RangeError naming the kernel and the array', () => {
      assert.throws(() => native!.axisMoments(new Float64Array(5), new Float64Array(6), new Float32Array(12), 0, 2, 2, 3), /axisMoments \(native\).*means/);
    });
  });
}

describe('Tensor.variance over middle axes (the axisMoments path) against a float64 two-pass loop', () => {
  for (const backend of ['reference', ...(native === undefined ? [] : ['native'] as const)] as const) {
    it(`on ${backend}: dim 1 of (7, 65, 129), biased and unbiased, and its gradient`, () => {
      const original = getKernelInfo().backend;
      setKernelBackend(backend);
      try {
        const [B, C, L] = [7, 65, 129];
        const values = randomArray(B * C * L, 77, 3);
        for (const unbiased of [false, true]) {
          const got = new Tensor(values, [B, C, L]).var(1, { unbiased }).contiguousData();
          for (let b = 0; b < B; b++) {
            for (let l = 0; l < L; l++) {
              let total = 0;
              for (let c = 0; c < C; c++) total += values[(b * C + c) * L + l];
              const mean = total / C;
              let squares = 0;
              for (let c = 0; c < C; c++) squares += (values[(b * C + c) * L + l] - mean) ** 2;
              const want = Math.fround(squares / (unbiased ? C - 1 : C));
              assert.ok(Math.abs(got[b * L + l] - want) <= 1e-6 * Math.max(1, want), `variance [${b}, ${l}]: ${got[b * L + l]} vs ${want}`);
            }
          }
        }
        // d var / d x = 2(x − mean)/C: Σ over the reduced axis of the gradient is 0 per column.
        const x = new Tensor(values, [B, C, L], undefined, 0, true);
        x.var(1).sum().backward();
        const grad = x.grad!.contiguousData();
        for (let l = 0; l < L; l += 32) {
          let total = 0;
          for (let c = 0; c < C; c++) total += grad[c * L + l];
          assert.ok(Math.abs(total) < 1e-4, `Σ_c grad at l ${l}: ${total}`);
        }
      } finally {
        setKernelBackend(original);
      }
    });
  }
});
