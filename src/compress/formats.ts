/**
 * Weight-only block quantisation formats, byte-compatible with ggml (ggml-common.h,
 * ggml-quants.c `quantize_row_*_ref` / `dequantize_row_*`):
 *
 *   Q8_0    block of 32 weights: d (fp16) | qs[32] int8            34 bytes, 8.5 bits/weight
 *           x̂ = d·q,  d = max|x| / 127
 *   Q4_0    block of 32 weights: d (fp16) | qs[16] (two 4-bit each) 18 bytes, 4.5 bits/weight
 *           x̂ = d·(q − 8),  d = (the value of largest magnitude) / −8; byte j holds weight j in
 *           its low nibble and weight j + 16 in its high nibble
 *   Q4_G128 (qkv's group-128 asymmetric 4-bit, Q4_1's rule on groups of 128)
 *           d (fp16) | m (fp16) | qs[64]                           68 bytes, 4.25 bits/weight
 *           x̂ = d·q + m,  d = (max − min) / 15, m = min; byte j holds weights j and j + 64
 *
 * A quantised matrix is (rows, cols) with each row quantised along cols in consecutive blocks,
 * as ggml stores a weight (ne0 = cols = in_features): rows·cols/blockSize blocks in row order.
 *
 * Arithmetic follows the C reference in float32 (`Math.fround` at each step) and C's rounding
 * (`roundf` half away from zero; `(int8_t)` truncation), so the bytes equal ggml's.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { decodeFloat16, toFloat16Bits } from '../io/half.ts';

/** The formats qkv quantises to; the names are ggml's (lower case, as in GGUF file types). */
export const QUANT_FORMATS = ['q8_0', 'q4_0', 'q4_g128'] as const;
export type QuantFormat = (typeof QUANT_FORMATS)[number];

export interface QuantFormatInfo {
  /** Weights per block. */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
}

export const QUANT_FORMAT_INFO: Record<QuantFormat, QuantFormatInfo> = {
  q8_0: { blockSize: 32, blockBytes: 34 },
  q4_0: { blockSize: 32, blockBytes: 18 },
  q4_g128: { blockSize: 128, blockBytes: 68 },
};

/** A (rows, cols) matrix of packed blocks: row r is blocks [r·cols/blockSize, (r+1)·cols/blockSize). */
export interface QuantizedMatrix {
  format: QuantFormat;
  rows: number;
  cols: number;
  data: Uint8Array;
}

export function isQuantFormat(value: unknown): value is QuantFormat {
  return typeof value === 'string' && (QUANT_FORMATS as readonly string[]).includes(value);
}

/** Bytes of one quantised row of `cols` weights; throws unless cols is a multiple of the block size. */
export function quantizedRowBytes(format: QuantFormat, cols: number, what = 'matrix'): number {
  const { blockSize, blockBytes } = QUANT_FORMAT_INFO[format];
  if (!Number.isInteger(cols) || cols <= 0 || cols % blockSize !== 0) {
    throw new QkvValueError(`${format}: ${what} has rows of ${cols} weights; ${format} needs a multiple of ${blockSize}`);
  }
  return (cols / blockSize) * blockBytes;
}

let float16Table: Float32Array | undefined;
/** Value of every fp16 bit pattern (the scales are decoded by one lookup). */
export function float16Values(): Float32Array {
  float16Table ??= decodeFloat16(Uint16Array.from({ length: 65536 }, (_, bits) => bits));
  return float16Table;
}

function writeHalf(out: Uint8Array, offset: number, value: number): void {
  const bits = toFloat16Bits(value);
  out[offset] = bits & 0xff;
  out[offset + 1] = bits >>> 8;
}

function readHalf(data: Uint8Array, offset: number): number {
  return float16Values()[data[offset] | (data[offset + 1] << 8)];
}

/** C's roundf: half away from zero. */
function roundHalfAway(value: number): number {
  return value < 0 ? -Math.round(-value) : Math.round(value);
}

const f = Math.fround;

/** ggml `quantize_row_q8_0_ref` on one block of 32 at `x[src]`, written at `out[dst]`. */
function quantizeBlockQ8_0(x: ArrayLike<number>, src: number, out: Uint8Array, dst: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(f(x[src + j])));
  const d = f(amax / 127);
  const id = d !== 0 ? f(1 / d) : 0;
  writeHalf(out, dst, d);
  for (let j = 0; j < 32; j++) out[dst + 2 + j] = roundHalfAway(f(f(x[src + j]) * id)) & 0xff;
}

/** ggml `quantize_row_q4_0_ref` on one block of 32. */
function quantizeBlockQ4_0(x: ArrayLike<number>, src: number, out: Uint8Array, dst: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = f(x[src + j]);
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = f(max / -8);
  const id = d !== 0 ? f(1 / d) : 0;
  writeHalf(out, dst, d);
  for (let j = 0; j < 16; j++) {
    // (int8_t)(x·id + 8.5f) truncates; the argument is ≥ 0.5, so truncation is floor
    const low = Math.min(15, Math.trunc(f(f(f(x[src + j]) * id) + 8.5)));
    const high = Math.min(15, Math.trunc(f(f(f(x[src + 16 + j]) * id) + 8.5)));
    out[dst + 2 + j] = low | (high << 4);
  }
}

/** ggml `quantize_row_q4_1_ref`'s rule on a group of 128. */
function quantizeBlockQ4G128(x: ArrayLike<number>, src: number, out: Uint8Array, dst: number): void {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < 128; j++) {
    const v = f(x[src + j]);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const d = f(f(max - min) / 15);
  const id = d !== 0 ? f(1 / d) : 0;
  writeHalf(out, dst, d);
  writeHalf(out, dst + 2, min);
  for (let j = 0; j < 64; j++) {
    const low = Math.min(15, Math.trunc(f(f(f(f(x[src + j]) - min) * id) + 0.5)));
    const high = Math.min(15, Math.trunc(f(f(f(f(x[src + 64 + j]) - min) * id) + 0.5)));
    out[dst + 4 + j] = low | (high << 4);
  }
}

const QUANTIZE_BLOCK: Record<QuantFormat, (x: ArrayLike<number>, src: number, out: Uint8Array, dst: number) => void> = {
  q8_0: quantizeBlockQ8_0,
  q4_0: quantizeBlockQ4_0,
  q4_g128: quantizeBlockQ4G128,
};

/**
 * Quantises a row-major (rows, cols) matrix, each row along cols.
 *
 * @example
 * const q = quantizeMatrix('q8_0', weights, 768, 3072); // weights: Float32Array(768·3072)
 * q.data.length === 768 * (3072 / 32) * 34;
 */
export function quantizeMatrix(format: QuantFormat, values: ArrayLike<number>, rows: number, cols: number): QuantizedMatrix {
  const rowBytes = quantizedRowBytes(format, cols);
  if (values.length !== rows * cols) throw new QkvValueError(`${format}: expected ${rows}·${cols} = ${rows * cols} values, got ${values.length}`);
  const { blockSize, blockBytes } = QUANT_FORMAT_INFO[format];
  const data = new Uint8Array(rows * rowBytes);
  const quantizeBlock = QUANTIZE_BLOCK[format];
  const blocks = (rows * cols) / blockSize;
  for (let b = 0; b < blocks; b++) quantizeBlock(values, b * blockSize, data, b * blockBytes);
  return { format, rows, cols, data };
}

/** The values one block stands for (ggml `dequantize_row_*`), written at `out[dst]`. */
export function dequantizeBlock(format: QuantFormat, data: Uint8Array, src: number, out: Float32Array, dst: number): void {
  const d = readHalf(data, src);
  if (format === 'q8_0') {
    for (let j = 0; j < 32; j++) out[dst + j] = d * ((data[src + 2 + j] << 24) >> 24);
  } else if (format === 'q4_0') {
    for (let j = 0; j < 16; j++) {
      const byte = data[src + 2 + j];
      out[dst + j] = d * ((byte & 0x0f) - 8);
      out[dst + 16 + j] = d * ((byte >>> 4) - 8);
    }
  } else {
    const m = readHalf(data, src + 2);
    for (let j = 0; j < 64; j++) {
      const byte = data[src + 4 + j];
      out[dst + j] = d * (byte & 0x0f) + m;
      out[dst + 64 + j] = d * (byte >>> 4) + m;
    }
  }
}

/** The whole (rows, cols) matrix as float32 (for tests, export and the reference matmul). */
export function dequantizeMatrix(matrix: QuantizedMatrix): Float32Array {
  const { blockSize, blockBytes } = QUANT_FORMAT_INFO[matrix.format];
  const out = new Float32Array(matrix.rows * matrix.cols);
  const blocks = out.length / blockSize;
  for (let b = 0; b < blocks; b++) dequantizeBlock(matrix.format, matrix.data, b * blockBytes, out, b * blockSize);
  return out;
}

/** One row dequantised into `out` (cols values): what the reference matmul reads. */
export function dequantizeRow(matrix: QuantizedMatrix, row: number, out: Float32Array): void {
  const { blockSize, blockBytes } = QUANT_FORMAT_INFO[matrix.format];
  const blocksPerRow = matrix.cols / blockSize;
  for (let b = 0; b < blocksPerRow; b++) dequantizeBlock(matrix.format, matrix.data, (row * blocksPerRow + b) * blockBytes, out, b * blockSize);
}

/** The scale (and, for q4_g128, the offset) of block `block`, decoded: for error bounds and inspection. */
export function blockScale(matrix: QuantizedMatrix, block: number): { d: number; m: number } {
  const src = block * QUANT_FORMAT_INFO[matrix.format].blockBytes;
  return { d: readHalf(matrix.data, src), m: matrix.format === 'q4_g128' ? readHalf(matrix.data, src + 2) : 0 };
}
