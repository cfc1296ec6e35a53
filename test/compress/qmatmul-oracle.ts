/**
 * The oracle the quantised kernels that round x (native quant.cc, wasm quant.ts) are tested
 * against, sharing none of their code: x rebuilt here by ggml's quantize_row_q8_0 rule, then
 * x̂ · dequantised Wᵀ in float64, with the bound that rounding x may move each output by.
 */
import { blockScale, dequantizeMatrix, QUANT_FORMAT_INFO, type QuantizedMatrix } from '../../src/compress/formats.ts';
import { Rng } from '../../src/tensor/random.ts';

const f = Math.fround;

export function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** x quantised by ggml's quantize_row_q8_0 rule (float32 scale kept): codes and scales per block of 32. */
function quantizeActivations(x: Float32Array): { xhat: Float64Array; scales: Float64Array } {
  const xhat = new Float64Array(x.length);
  const scales = new Float64Array(x.length / 32);
  for (let b = 0; b < scales.length; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    const d = f(amax / 127);
    const id = d !== 0 ? f(1 / d) : 0;
    scales[b] = d;
    for (let j = 0; j < 32; j++) {
      const v = f(x[b * 32 + j] * id);
      xhat[b * 32 + j] = d * Math.max(-127, Math.min(127, v < 0 ? -Math.round(-v) : Math.round(v)));
    }
  }
  return { xhat, scales };
}

/**
 * What the native kernel computes, in float64: Σ ŵ·x̂, except that Q4_G128's offset m multiplies
 * the exact Σ x of its group. Also the bound on |that − x·ŵ| from rounding x, and Σ|ŵ·x| for the
 * float-rounding allowance.
 */
export function oracle(x: Float32Array, M: number, weight: QuantizedMatrix): { expected: Float64Array; bound: Float64Array; magnitude: Float64Array } {
  const { rows: N, cols: K, format } = weight;
  const w = dequantizeMatrix(weight);
  const { xhat, scales } = quantizeActivations(x);
  const groupSize = QUANT_FORMAT_INFO[format].blockSize;
  const expected = new Float64Array(M * N);
  const bound = new Float64Array(M * N);
  const magnitude = new Float64Array(M * N);
  const offsets = Float64Array.from({ length: (N * K) / groupSize }, (_, b) => (format === 'q4_g128' ? blockScale(weight, b).m : 0));
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let sum = 0, err = 0, mag = 0;
      for (let k = 0; k < K; k++) {
        const offset = offsets[((n * K + k) / groupSize) | 0];
        const wk = w[n * K + k];
        sum += (wk - offset) * xhat[m * K + k] + offset * x[m * K + k];
        err += Math.abs(wk - offset) * scales[(m * K + k) >> 5] / 2;
        mag += Math.abs(wk * x[m * K + k]) + Math.abs((wk - offset) * xhat[m * K + k]);
      }
      expected[m * N + n] = sum;
      bound[m * N + n] = err;
      magnitude[m * N + n] = mag;
    }
  }
  return { expected, bound, magnitude };
}

