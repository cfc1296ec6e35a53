// Fused bias + tanh GELU on wasm against float64 maths on the same float32 inputs: h = x + bias
// rounded to float32 (as the kernel and the composed float32 ops do), then
// gelu_tanh(h) = 0.5·h·(1 + tanh(√(2/π)·(h + 0.044715·h³))) and its derivative in float64.
// Awkward shapes (rows 1, 3, 65 × channels 1, 7, 33, 129), on 1 and 2 threads, plus extreme
// pre-activations. The float64 op itself is gradient-checked in test/tensor/ops/fused.test.ts.
//
// Tolerances, relative to max(1, |reference|), those of the unfused tanh GELU kernel
// (test/kernels/activation-wasm.test.ts): forward 3e-7 (the vector exp's ~1e-7 and a few float32
// roundings); dx 2e-7 (slope in float64, then two float32 roundings); dbias 2e-7·N (float32 sums
// over N rows, where the reference adds in float64).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { biasGeluBackwardWasm, biasGeluForwardWasm } from '../../../src/kernels/wasm/bias-gelu.ts';
import { setWasmThreads } from '../../../src/kernels/wasm/runtime.ts';
import { randomArray } from '../fixtures.ts';


const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function geluTanh(h: number): number {
  return 0.5 * h * (1 + Math.tanh(SQRT_2_OVER_PI * (h + 0.044715 * h ** 3)));
}

function geluTanhSlope(h: number): number {
  const t = Math.tanh(SQRT_2_OVER_PI * (h + 0.044715 * h ** 3));
  return 0.5 * (1 + t) + 0.5 * h * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * h * h);
}

function reference(x: Float32Array, bias: Float32Array, g: Float32Array, N: number, C: number) {
  const y = new Float64Array(N * C), dx = new Float64Array(N * C), dbias = new Float64Array(C);
  for (let row = 0; row < N; row++) {
    for (let c = 0; c < C; c++) {
      const i = row * C + c;
      const h = Math.fround(x[i] + bias[c]);
      y[i] = geluTanh(h);
      dx[i] = g[i] * geluTanhSlope(h);
      dbias[c] += dx[i];
    }
  }
  return { y, dx, dbias };
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

for (const threads of [1, 2]) {
  describe(`biasGelu wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('forward, dx and dbias match float64 maths on awkward shapes', () => {
      setWasmThreads(threads);
      let seed = 1;
      for (const N of [1, 3, 65]) {
        for (const C of [1, 7, 33, 129]) {
          const label = `biasGelu (N ${N}, C ${C})`;
          const x = randomArray(N * C, seed++, 4), bias = randomArray(C, seed++, 1), g = randomArray(N * C, seed++, 1);
          const expected = reference(x, bias, g, N, C);
          const y = new Float32Array(N * C);
          biasGeluForwardWasm(y, x, bias, N, C);
          assertClose(`${label} forward y`, y, expected.y, 3e-7);
          // dbias starts non-zero: the kernel adds into it.
          const dx = new Float32Array(N * C), dbias = new Float64Array(C).fill(0.25);
          biasGeluBackwardWasm(dx, dbias, g, x, bias, N, C);
          assertClose(`${label} backward dx`, dx, expected.dx, 2e-7);
          assertClose(`${label} backward dbias`, dbias, expected.dbias.map((v) => v + 0.25), 2e-7 * N);
        }
      }
    });

    it('stays finite and right at extreme pre-activations', () => {
      setWasmThreads(threads);
      const x = Float32Array.of(-1e4, -30, -20.5, -5, -1e-30, 0, 1e-30, 5, 9.5, 30, 1e4, 3e38);
      const bias = new Float32Array(x.length); // C = 12, N = 1: bias 0, so h = x exactly
      const g = new Float32Array(x.length).fill(1);
      const expected = reference(x, bias, g, 1, x.length);
      const y = new Float32Array(x.length), dx = new Float32Array(x.length), dbias = new Float64Array(x.length);
      biasGeluForwardWasm(y, x, bias, 1, x.length);
      biasGeluBackwardWasm(dx, dbias, g, x, bias, 1, x.length);
      assertClose('biasGelu extreme forward y', y, expected.y, 3e-7);
      assertClose('biasGelu extreme backward dx', dx, expected.dx, 2e-7);
    });
  });
}
