// LayerNorm on wasm against the reference (src/kernels/reference/norm.ts) run in float64 on the
// same float32 inputs: awkward shapes (rows 1, 3, 65 × channels 1, 7, 33, 129: not multiples of
// the 4 SIMD lanes), with and without weight and bias, dinp wanted or not, on 1 and 2 threads.
//
// Tolerances, relative to max(1, |reference|): out, dinp, mean and rstd 1e-6 (float32 sums over
// C channels); dweight and dbias 1e-6·√N (float32 sums over N rows, where the reference adds in
// float64).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { layerNormBackwardWasm, layerNormForwardWasm } from '../../../src/kernels/wasm/norm.ts';
import { layerNormBackward, layerNormForward } from '../../../src/kernels/reference/norm.ts';
import { setWasmThreads } from '../../../src/kernels/wasm/runtime.ts';

function randomArray(length: number, seed: number, scale: number, shift = 0): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = shift + scale * (state / 2 ** 31 - 1);
  }
  return out;
}

function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= tolerance * Math.max(1, Math.abs(expected[i])))) {
      assert.fail(`${what}: index ${i}: wasm ${actual[i]}, reference ${expected[i]}, |error| ${error.toExponential(2)} > ${tolerance} · max(1, |reference|)`);
    }
  }
}

const f64 = (array: Float32Array | null): Float64Array | null => (array === null ? null : Float64Array.from(array));

for (const threads of [1, 2]) {
  describe(`layerNorm wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('forward and backward match the float64 reference on awkward shapes', () => {
      setWasmThreads(threads);
      let seed = 1;
      for (const N of [1, 3, 65]) {
        for (const C of [1, 7, 33, 129]) {
          for (const affine of [true, false]) {
            const label = `layerNorm (N ${N}, C ${C}${affine ? '' : ', no weight/bias'})`;
            // An offset mean: the two-pass variance must not cancel.
            const inp = randomArray(N * C, seed++, 2, 3), dout = randomArray(N * C, seed++, 1);
            const weight = affine ? randomArray(C, seed++, 1, 1) : null, bias = affine ? randomArray(C, seed++, 1) : null;

            const out = new Float32Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
            layerNormForwardWasm(out, mean, rstd, inp, weight, bias, N, C, 1e-5);
            const out64 = new Float64Array(N * C), mean64 = new Float64Array(N), rstd64 = new Float64Array(N);
            layerNormForward(out64, mean64, rstd64, f64(inp)!, f64(weight), f64(bias), N, C, 1e-5);
            assertClose(`${label} forward out`, out, out64, 1e-6);
            assertClose(`${label} forward mean`, mean, mean64, 1e-6);
            assertClose(`${label} forward rstd`, rstd, rstd64, 1e-6);

            // Accumulators start non-zero: the kernel adds into them, as the reference does.
            const dinp = new Float32Array(N * C), dweight = new Float64Array(C).fill(0.5), dbias = new Float64Array(C).fill(-0.25);
            layerNormBackwardWasm(dinp, affine ? dweight : null, affine ? dbias : null, dout, inp, weight, mean, rstd, N, C);
            const dinp64 = new Float64Array(N * C), dweight64 = new Float64Array(C).fill(0.5), dbias64 = new Float64Array(C).fill(-0.25);
            layerNormBackward(dinp64, affine ? dweight64 : null, affine ? dbias64 : null, f64(dout)!, f64(inp)!, f64(weight), mean64, rstd64, N, C);
            assertClose(`${label} backward dinp`, dinp, dinp64, 1e-6);
            assertClose(`${label} backward dweight`, dweight, dweight64, 1e-6 * Math.sqrt(N));
            assertClose(`${label} backward dbias`, dbias, dbias64, 1e-6 * Math.sqrt(N));
          }
        }
      }
    });
  });
}

describe('layerNorm wasm, options and errors', () => {
  it('dinp = null computes only dweight and dbias', () => {
    const N = 5, C = 6;
    const inp = randomArray(N * C, 91, 1), dout = randomArray(N * C, 92, 1), weight = randomArray(C, 93, 1, 1);
    const mean = new Float64Array(N), rstd = new Float64Array(N);
    layerNormForwardWasm(new Float32Array(N * C), mean, rstd, inp, weight, null, N, C, 1e-5);
    const [dweight, dbias] = [new Float64Array(C), new Float64Array(C)];
    const [dweight64, dbias64] = [new Float64Array(C), new Float64Array(C)];
    layerNormBackwardWasm(null, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    layerNormBackward(null, dweight64, dbias64, f64(dout)!, f64(inp)!, f64(weight), mean, rstd, N, C);
    assertClose('layerNorm backward (no dinp) dweight', dweight, dweight64, 1e-6);
    assertClose('layerNorm backward (no dinp) dbias', dbias, dbias64, 1e-6);
  });

  it('a constant row normalises to the bias (rstd = 1/√eps), not NaN', () => {
    const C = 9;
    const out = new Float32Array(C), mean = new Float64Array(1), rstd = new Float64Array(1);
    layerNormForwardWasm(out, mean, rstd, new Float32Array(C).fill(4), null, Float32Array.from({ length: C }, (_, c) => c), 1, C, 1e-5);
    assert.deepEqual([...out], Array.from({ length: C }, (_, c) => c));
    assert.equal(mean[0], 4);
    assert.ok(Math.abs(rstd[0] - 1 / Math.sqrt(1e-5)) <= 1e-6 * rstd[0], `rstd ${rstd[0]}`);
  });

  it('refuses arrays too short for N·C, naming them', () => {
    const stats = new Float64Array(2);
    assert.throws(() => layerNormForwardWasm(new Float32Array(5), stats, stats, new Float32Array(6), null, null, 2, 3, 1e-5), /layerNormForward \(wasm\): out needs 6 elements, found 5/);
    assert.throws(() => layerNormForwardWasm(new Float32Array(6), stats, stats, new Float32Array(6), new Float32Array(2), null, 2, 3, 1e-5), /layerNormForward \(wasm\): weight needs 3 elements, found 2/);
    assert.throws(() => layerNormBackwardWasm(null, null, null, new Float32Array(6), new Float32Array(6), null, new Float64Array(1), stats, 2, 3), /layerNormBackward \(wasm\): mean needs 2 elements, found 1/);
  });
});
