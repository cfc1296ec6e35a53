/**
 * Quantised matmul on the packed blocks: out (M, N) = x (M, K) · Wᵀ with W (N, K) in Q8_0, Q4_0
 * or Q4_G128 (see ./formats.ts), never dequantising the matrix. Each block contributes
 * d·Σ qⱼ·xⱼ (+ m·Σ xⱼ for the asymmetric format), so the inner loop reads the int8 / 4-bit codes
 * and one fp16 scale per block, as ggml's `ggml_vec_dot_q8_0_*` does.
 *
 * Legend: M = input rows (B·T), K = in_features (the quantised axis), N = out_features.
 *
 * Q4_0 uses Σ (q − 8)·x = Σ q·x − 8·Σ x, with the per-block sums of x computed once per input
 * row (M·K/32 additions) instead of a subtraction per weight.
 *
 * `qmatmul` runs the native kernel (./qmatmul-native.ts: x quantised to 8 bits per block of 32,
 * int8·int8 dots with AVX-512 VNNI / AVX2, threaded) when float32 work runs on the native
 * backend, the wasm SIMD kernel (src/kernels/wasm/qmatmul.ts: the same x rounding, i8x16 dots,
 * threaded) on the wasm backend, else `qmatmulTypeScript` below: float x times the codes on one
 * thread, exact to float rounding. All are tested against ./qmatmul-reference.ts.
 */
import { QkvShapeError } from '../tensor/errors.ts';
import { float16Values, type QuantizedMatrix } from './formats.ts';
import { currentBackend } from '../kernels/index.ts';
import { qmatmulWasm } from '../kernels/wasm/qmatmul.ts';
import { FORMAT_CODES, nativeQmatmul } from './qmatmul-native.ts';

/** Per-block sums of x: (M, K/blockSize). */
function blockSums(x: Float32Array, M: number, K: number, blockSize: number): Float32Array {
  const blocks = K / blockSize;
  const sums = new Float32Array(M * blocks);
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < blocks; b++) {
      let s = 0;
      const base = m * K + b * blockSize;
      for (let j = 0; j < blockSize; j++) s += x[base + j];
      sums[m * blocks + b] = s;
    }
  }
  return sums;
}

function q8_0(x: Float32Array, M: number, w: QuantizedMatrix, out: Float32Array): void {
  const { rows: N, cols: K, data } = w;
  const codes = new Int8Array(data.buffer, data.byteOffset, data.byteLength); // qs read as int8 in place
  const half = float16Values();
  const blocks = K / 32;
  for (let n = 0; n < N; n++) {
    const rowStart = n * blocks * 34;
    for (let m = 0; m < M; m++) {
      const xRow = m * K;
      let acc = 0;
      for (let b = 0; b < blocks; b++) {
        const o = rowStart + b * 34;
        const d = half[data[o] | (data[o + 1] << 8)];
        const q = o + 2;
        const xb = xRow + b * 32;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let j = 0; j < 32; j += 4) {
          s0 += codes[q + j] * x[xb + j];
          s1 += codes[q + j + 1] * x[xb + j + 1];
          s2 += codes[q + j + 2] * x[xb + j + 2];
          s3 += codes[q + j + 3] * x[xb + j + 3];
        }
        acc += d * (s0 + s1 + s2 + s3);
      }
      out[m * N + n] = acc;
    }
  }
}

function q4_0(x: Float32Array, M: number, w: QuantizedMatrix, out: Float32Array): void {
  const { rows: N, cols: K, data } = w;
  const half = float16Values();
  const blocks = K / 32;
  const sums = blockSums(x, M, K, 32);
  for (let n = 0; n < N; n++) {
    const rowStart = n * blocks * 18;
    for (let m = 0; m < M; m++) {
      const xRow = m * K;
      let acc = 0;
      for (let b = 0; b < blocks; b++) {
        const o = rowStart + b * 18;
        const d = half[data[o] | (data[o + 1] << 8)];
        const q = o + 2;
        const xb = xRow + b * 32;
        let low = 0, high = 0;
        for (let j = 0; j < 16; j += 2) {
          const byte0 = data[q + j];
          const byte1 = data[q + j + 1];
          low += (byte0 & 15) * x[xb + j] + (byte1 & 15) * x[xb + j + 1];
          high += (byte0 >>> 4) * x[xb + 16 + j] + (byte1 >>> 4) * x[xb + 17 + j];
        }
        acc += d * (low + high - 8 * sums[m * blocks + b]);
      }
      out[m * N + n] = acc;
    }
  }
}

function q4_g128(x: Float32Array, M: number, w: QuantizedMatrix, out: Float32Array): void {
  const { rows: N, cols: K, data } = w;
  const half = float16Values();
  const blocks = K / 128;
  const sums = blockSums(x, M, K, 128);
  for (let n = 0; n < N; n++) {
    const rowStart = n * blocks * 68;
    for (let m = 0; m < M; m++) {
      const xRow = m * K;
      let acc = 0;
      for (let b = 0; b < blocks; b++) {
        const o = rowStart + b * 68;
        const d = half[data[o] | (data[o + 1] << 8)];
        const offset = half[data[o + 2] | (data[o + 3] << 8)];
        const q = o + 4;
        const xb = xRow + b * 128;
        let low = 0, high = 0;
        for (let j = 0; j < 64; j += 2) {
          const byte0 = data[q + j];
          const byte1 = data[q + j + 1];
          low += (byte0 & 15) * x[xb + j] + (byte1 & 15) * x[xb + j + 1];
          high += (byte0 >>> 4) * x[xb + 64 + j] + (byte1 >>> 4) * x[xb + 65 + j];
        }
        acc += d * (low + high) + offset * sums[m * blocks + b];
      }
      out[m * N + n] = acc;
    }
  }
}

const KERNELS = { q8_0, q4_0, q4_g128 } as const;

function checkShapes(x: Float32Array, M: number, weight: QuantizedMatrix): void {
  if (x.length !== M * weight.cols) {
    throw new QkvShapeError(`qmatmul: x holds ${x.length} values, expected M·K = ${M}·${weight.cols} for a ${weight.format} (${weight.rows}, ${weight.cols}) weight`);
  }
}

/** The TypeScript kernel alone (one thread, float activations): the path off the native backend. */
export function qmatmulTypeScript(x: Float32Array, M: number, weight: QuantizedMatrix): Float32Array {
  checkShapes(x, M, weight);
  const out = new Float32Array(M * weight.rows);
  KERNELS[weight.format](x, M, weight, out);
  return out;
}

/** Which kernel `qmatmul` runs now: it follows the float32 backend. */
export function qmatmulKernel(): 'native' | 'wasm' | 'typescript' {
  if (nativeQmatmul() !== null) return 'native';
  return currentBackend().name === 'wasm' ? 'wasm' : 'typescript';
}

/**
 * out (M, N) = x (M, K) · Wᵀ on W's packed blocks: native or wasm SIMD when that backend runs,
 * else TypeScript.
 *
 * @example
 * const w = quantizeMatrix('q8_0', weights, N, K);
 * const y = qmatmul(x, M, w); // Float32Array(M·N)
 */
export function qmatmul(x: Float32Array, M: number, weight: QuantizedMatrix): Float32Array {
  const native = nativeQmatmul();
  if (native === null && currentBackend().name !== 'wasm') return qmatmulTypeScript(x, M, weight);
  checkShapes(x, M, weight);
  const out = new Float32Array(M * weight.rows);
  if (native !== null) native(out, x, M, weight);
  else qmatmulWasm(out, x, M, FORMAT_CODES[weight.format], weight.data, weight.rows, weight.cols);
  return out;
}
