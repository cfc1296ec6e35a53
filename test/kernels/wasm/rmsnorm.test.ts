// RMSNorm on wasm against the reference (src/kernels/reference/norm.ts) run in float64 on the
// same float32 inputs: awkward shapes (rows 1, 3, 65 × channels 1, 7, 33, 129: not multiples of
// the 4 SIMD lanes), with and without weight, dinp wanted or not, on 1 and 2 threads.
//
// Tolerances, relative to max(1, |reference|): out and rrms 1e-6 (float32 sums over C channels);
// dweight 1e-6·√N (float32 sums over N rows, where the reference adds in float64); dinp 1e-6
// relative to max(1, the size of the two terms it subtracts, rrms·(|dn| + |n·mean(dn·n)|)): at
// C = 1, n = ±1 and they cancel to ~0, so float32 rounding is relative to them, not to the result.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rmsNormBackwardWasm, rmsNormForwardWasm } from '../../../src/kernels/wasm/rmsnorm.ts';
import { rmsNormBackward, rmsNormForward } from '../../../src/kernels/reference/norm.ts';
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

function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, scale: ArrayLike<number> = expected): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= tolerance * Math.max(1, Math.abs(scale[i])))) {
      assert.fail(`${what}: index ${i}: wasm ${actual[i]}, reference ${expected[i]}, |error| ${error.toExponential(2)} > ${tolerance} · max(1, ${scale === expected ? '|reference|' : Math.abs(scale[i]).toExponential(2)})`);
    }
  }
}

const f64 = (array: Float32Array | null): Float64Array | null => (array === null ? null : Float64Array.from(array));

/** Per element of dinp, rrms·(|dn| + |n·mean(dn·n)|): the size of what the backward subtracts. */
function cancellingTerms(dout: Float32Array, inp: Float32Array, weight: Float32Array | null, rrms: Float64Array, N: number, C: number): Float64Array {
  const scale = new Float64Array(N * C);
  for (let row = 0; row < N; row++) {
    let dnNormMean = 0;
    for (let c = 0; c < C; c++) dnNormMean += dout[row * C + c] * (weight === null ? 1 : weight[c]) * inp[row * C + c] * rrms[row];
    dnNormMean /= C;
    for (let c = 0; c < C; c++) {
      const i = row * C + c;
      scale[i] = rrms[row] * (Math.abs(dout[i] * (weight === null ? 1 : weight[c])) + Math.abs(inp[i] * rrms[row] * dnNormMean));
    }
  }
  return scale;
}

for (const threads of [1, 2]) {
  describe(`rmsNorm wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('forward and backward match the float64 reference on awkward shapes', () => {
      setWasmThreads(threads);
      let seed = 1;
      for (const N of [1, 3, 65]) {
        for (const C of [1, 7, 33, 129]) {
          for (const affine of [true, false]) {
            const label = `rmsNorm (N ${N}, C ${C}${affine ? '' : ', no weight'})`;
            const inp = randomArray(N * C, seed++, 2, 0.5), dout = randomArray(N * C, seed++, 1);
            const weight = affine ? randomArray(C, seed++, 1, 1) : null;

            const out = new Float32Array(N * C), rrms = new Float64Array(N);
            rmsNormForwardWasm(out, rrms, inp, weight, N, C, 1e-6);
            const out64 = new Float64Array(N * C), rrms64 = new Float64Array(N);
            rmsNormForward(out64, rrms64, f64(inp)!, f64(weight), N, C, 1e-6);
            assertClose(`${label} forward out`, out, out64, 1e-6);
            assertClose(`${label} forward rrms`, rrms, rrms64, 1e-6);

            // The accumulator starts non-zero: the kernel adds into it, as the reference does.
            const dinp = new Float32Array(N * C), dweight = new Float64Array(C).fill(0.5);
            rmsNormBackwardWasm(dinp, affine ? dweight : null, dout, inp, weight, rrms, N, C);
            const dinp64 = new Float64Array(N * C), dweight64 = new Float64Array(C).fill(0.5);
            rmsNormBackward(dinp64, affine ? dweight64 : null, f64(dout)!, f64(inp)!, f64(weight), rrms64, N, C);
            assertClose(`${label} backward dinp`, dinp, dinp64, 1e-6, cancellingTerms(dout, inp, weight, rrms64, N, C));
            assertClose(`${label} backward dweight`, dweight, dweight64, 1e-6 * Math.sqrt(N));

            // Only dweight wanted: dinp null must leave the accumulation intact.
            if (affine) {
              const alone = new Float64Array(C).fill(0.5);
              rmsNormBackwardWasm(null, alone, dout, inp, weight, rrms, N, C);
              assertClose(`${label} backward dweight without dinp`, alone, dweight, 0);
            }
          }
        }
      }
    });

    it('rejects short arrays, naming the kernel and the array', () => {
      assert.throws(() => rmsNormForwardWasm(new Float32Array(5), new Float64Array(2), new Float32Array(6), null, 2, 3, 1e-6), /rmsNormForward \(wasm\): out needs 6 elements, found 5/);
    });
  });
}
