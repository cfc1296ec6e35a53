/**
 * Packed ggml blocks as ONNX Runtime's weight-only quantised matmul, `com.microsoft.MatMulNBits`
 * (the operator of Transformers.js's `model_q4.onnx` files), with no loss: both formats are
 * symmetric blocks of 32 along in_features with one scale, which MatMulNBits expresses with its
 * default zero point 2^(bits−1):
 *
 *   Q8_0  x̂ = d·q, q int8         →  bits 8, u = q + 128, x̂ = d·(u − 128)
 *   Q4_0  x̂ = d·(q − 8), q 0..15  →  bits 4, the same nibbles, x̂ = d·(q − 8)
 *
 * Layouts: MatMulNBits B is uint8 (N, K/32, blob) with N = out_features (the rows of qkv's packed
 * weight, so no transpose), scales float (N, K/32). In a 4-bit blob byte i holds weight 2i in its
 * low nibble and 2i + 1 in its high one; ggml's Q4_0 byte j holds weights j and j + 16, so the
 * nibbles are regrouped. Scales are ggml's fp16 values, widened exactly to float32.
 * Q4_G128 (asymmetric, float minimum) has no exact MatMulNBits form and is not packed here.
 */
import { float16Values, QUANT_FORMAT_INFO, type QuantFormat, type QuantizedMatrix } from '../compress/formats.ts';
import { QkvValueError } from '../tensor/errors.ts';

/** Formats MatMulNBits represents exactly. */
export type OnnxPackedFormat = Extract<QuantFormat, 'q8_0' | 'q4_0'>;

export function isOnnxPackedFormat(format: QuantFormat): format is OnnxPackedFormat {
  return format === 'q8_0' || format === 'q4_0';
}

export interface MatMulNBitsWeight {
  bits: 4 | 8;
  blockSize: number;
  /** (N, K/blockSize, blockSize·bits/8) */
  B: Uint8Array;
  blobBytes: number;
  /** (N, K/blockSize) */
  scales: Float32Array;
  N: number;
  K: number;
}

/** The MatMulNBits inputs of a Q8_0 or Q4_0 (out, in) matrix. */
export function toMatMulNBits(matrix: QuantizedMatrix): MatMulNBitsWeight {
  const { format, rows: N, cols: K, data } = matrix;
  if (!isOnnxPackedFormat(format)) throw new QkvValueError(`ONNX export: ${format} has no exact MatMulNBits form (q8_0 and q4_0 do)`);
  const { blockSize, blockBytes } = QUANT_FORMAT_INFO[format];
  const bits = format === 'q8_0' ? 8 : 4;
  const blobBytes = (blockSize * bits) / 8;
  const blocks = (N * K) / blockSize;
  const B = new Uint8Array(blocks * blobBytes);
  const scales = new Float32Array(blocks);
  const halves = float16Values();
  for (let b = 0; b < blocks; b++) {
    const src = b * blockBytes;
    scales[b] = halves[data[src] | (data[src + 1] << 8)];
    const dst = b * blobBytes;
    if (bits === 8) {
      for (let i = 0; i < blockSize; i++) B[dst + i] = (data[src + 2 + i] + 128) & 0xff; // int8 byte q → q + 128
    } else {
      // weight w of the block: ggml byte (w mod 16), nibble (w < 16 ? low : high)
      const nibble = (w: number): number => (w < 16 ? data[src + 2 + w] & 0x0f : data[src + 2 + w - 16] >>> 4);
      for (let i = 0; i < blobBytes; i++) B[dst + i] = nibble(2 * i) | (nibble(2 * i + 1) << 4);
    }
  }
  return { bits, blockSize, B, blobBytes, scales, N, K };
}
