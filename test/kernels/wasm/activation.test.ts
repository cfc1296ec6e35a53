// Tanh GELU on wasm against the float64 path of `gelu(x, 'tanh')` (the TypeScript reference,
// itself gradient-checked in test/tensor/ops/elementwise.test.ts), and the kernels' vector exp
// against Math.exp over its whole range. Awkward lengths (rows 1, 3, 65 × columns 1, 7, 33, 129:
// not multiples of the 4 SIMD lanes), on 1 and 2 threads (the arena starts after every thread's
// workspace).
//
// Tolerances, relative to max(1, |reference|):
//   forward 3e-7: expV's ~1e-7 and a few float32 roundings;
//   backward 2e-7: the slope is computed in float64 (one float32 rounding, 6e-8) times g (another);
//   exp 2e-7 relative to exp(x) itself, over [−87, 88];
//   the saved exp(2u) 2e-7·(1 + |2u|) relative (2u is rounded to float32 before the exp).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expWasm, geluTanhBackwardWasm, geluTanhForwardWasm } from '../../../src/kernels/wasm/activation.ts';
import { setWasmThreads } from '../../../src/kernels/wasm/runtime.ts';
import { gelu } from '../../../src/tensor/ops/elementwise.ts';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { randomArray } from '../fixtures.ts';


/** Forward and backward of the float64 reference op on the same values. */
function reference(x: Float32Array, g: Float32Array): { y: ArrayLike<number>; dx: ArrayLike<number> } {
  const x64 = new Tensor(Float64Array.from(x), [x.length]);
  x64.requiresGrad = true;
  const y64 = gelu(x64, 'tanh');
  y64.backward({ gradient: new Tensor(Float64Array.from(g), [g.length]) });
  return { y: y64.data, dx: x64.grad!.data };
}

function assertClose(kernel: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, x?: ArrayLike<number>): void {
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= tolerance * Math.max(1, Math.abs(expected[i])))) {
      assert.fail(`${kernel}: index ${i}${x ? ` (x = ${x[i]})` : ''}: wasm ${actual[i]}, reference ${expected[i]}, |error| ${error.toExponential(2)} > ${tolerance} · max(1, |reference|)`);
    }
  }
}

for (const threads of [1, 2]) {
  describe(`gelu tanh wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('forward and backward match the float64 reference on awkward shapes', () => {
      setWasmThreads(threads);
      let seed = 1;
      for (const rows of [1, 3, 65]) {
        for (const cols of [1, 7, 33, 129]) {
          const n = rows * cols;
          const x = randomArray(n, seed++, 8), g = randomArray(n, seed++, 2);
          const y = new Float32Array(n), dx = new Float32Array(n), saved = new Float32Array(n);
          geluTanhForwardWasm(y, x, saved);
          geluTanhBackwardWasm(dx, g, x);
          const expected = reference(x, g);
          assertClose(`gelu tanh forward (${rows}×${cols})`, y, expected.y, 3e-7, x);
          assertClose(`gelu tanh backward (${rows}×${cols})`, dx, expected.dx, 2e-7, x);
          // saved is e = exp(2u), what the TypeScript backward reads when the forward ran here; 2u
          // is computed in float32, and its rounding (~1e-7·|2u|) is multiplied by exp.
          for (let i = 0; i < n; i++) {
            const v = x[i];
            const twoU = Math.min(40, 2 * Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v));
            const e = Math.exp(twoU);
            const tolerance = 2e-7 * (1 + Math.abs(twoU)) * e + 1e-37;
            assert.ok(Math.abs(saved[i] - e) <= tolerance, `gelu tanh forward saved[${i}] (x = ${v}): ${saved[i]}, expected exp(2u) = ${e}`);
          }
        }
      }
    });
  });
}

describe('gelu tanh wasm, edge values', () => {
  it('keeps ±∞, ±0, huge and tiny inputs finite where the function is, and NaN as NaN', () => {
    const x = Float32Array.of(Infinity, 3e38, 1e4, 30, 1e-30, 0, -0, -1e-30, -30, -1e4, -3e38, -Infinity, NaN);
    const y = new Float32Array(x.length), dx = new Float32Array(x.length);
    geluTanhForwardWasm(y, x, null);
    geluTanhBackwardWasm(dx, new Float32Array(x.length).fill(1), x);
    // The limits at ±∞ (the float64 reference gives NaN there, from ∞·0).
    const expectedY = [Infinity, 3e38, 1e4, 30, 5e-31, 0, 0, -5e-31, 0, 0, 0, 0, NaN];
    const expectedSlope = [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, NaN];
    for (let i = 0; i < x.length; i++) {
      const ok = (actual: number, expected: number): boolean =>
        Number.isNaN(expected) ? Number.isNaN(actual) : actual === expected || Math.abs(actual - expected) <= 1e-6 * Math.max(Math.abs(expected), 1e-30);
      assert.ok(ok(Math.fround(y[i]), Math.fround(expectedY[i])), `gelu tanh forward: index ${i} (x = ${x[i]}): ${y[i]}, expected ${expectedY[i]}`);
      assert.ok(ok(dx[i], expectedSlope[i]), `gelu tanh backward: index ${i} (x = ${x[i]}): ${dx[i]}, expected ${expectedSlope[i]}`);
    }
  });

  it('length 0 does nothing; short arrays are refused by name', () => {
    geluTanhForwardWasm(new Float32Array(0), new Float32Array(0), null);
    assert.throws(() => geluTanhForwardWasm(new Float32Array(2), new Float32Array(3), null), /geluTanhForward \(wasm\): y needs 3 elements, found 2/);
    assert.throws(() => geluTanhBackwardWasm(new Float32Array(3), new Float32Array(1), new Float32Array(3)), /geluTanhBackward \(wasm\): g needs 3 elements, found 1/);
  });
});

describe('vector exp (expV)', () => {
  it('is within 2e-7 relative of Math.exp over [−87, 88], and clamps outside', () => {
    const n = 400_003; // not a multiple of 4: the scalar tail runs too
    const x = Float32Array.from({ length: n }, (_, i) => -87 + (175 * i) / (n - 1));
    const y = new Float32Array(n);
    expWasm(y, x);
    let worst = 0, worstAt = 0;
    for (let i = 0; i < n; i++) {
      const expected = Math.exp(x[i]);
      const error = Math.abs(y[i] - expected) / expected;
      if (error > worst) [worst, worstAt] = [error, i];
    }
    assert.ok(worst <= 2e-7, `exp: index ${worstAt} (x = ${x[worstAt]}): relative error ${worst.toExponential(2)} > 2e-7`);
    const edges = Float32Array.of(0, -0, -100, 100, -Infinity, Infinity, NaN);
    const out = new Float32Array(edges.length);
    expWasm(out, edges);
    assert.deepEqual([out[0], out[1]], [1, 1]);
    assert.ok(out[2] > 0 && out[2] < 1.3e-38 && out[4] === out[2], `exp below the range clamps to ~1.2e-38: ${out[2]}, ${out[4]}`);
    assert.ok(out[3] > 2e38 && Number.isFinite(out[3]) && out[5] === out[3], `exp above the range clamps to ~2.2e38: ${out[3]}, ${out[5]}`);
    assert.ok(Number.isNaN(out[6]), `exp(NaN) = ${out[6]}`);
  });
});
