/**
 * The oracle for the quantised matmul: each weight row dequantised (ggml's `dequantize_row_*`),
 * then a plain float64 dot product. Slow on purpose; `./qmatmul.ts` is tested against it.
 *
 * Legend: M = input rows (B·T), K = in_features (the quantised axis), N = out_features.
 */
import { dequantizeRow, type QuantizedMatrix } from './formats.ts';

/** out (M, N) = x (M, K) · Wᵀ, W the quantised (N, K) matrix. */
export function qmatmulReference(x: ArrayLike<number>, M: number, weight: QuantizedMatrix): Float32Array {
  const { rows: N, cols: K } = weight;
  const out = new Float32Array(M * N);
  const row = new Float32Array(K);
  for (let n = 0; n < N; n++) {
    dequantizeRow(weight, n, row);
    for (let m = 0; m < M; m++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum += x[m * K + k] * row[k];
      out[m * N + n] = sum;
    }
  }
  return out;
}
