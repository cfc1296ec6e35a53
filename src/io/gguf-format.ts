/**
 * GGUF v3, llama.cpp's model file (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md):
 *
 *   "GGUF" | version u32 = 3 | tensor_count u64 | kv_count u64
 *   kv_count × (key: string, value_type u32, value)         metadata, e.g. general.architecture
 *   tensor_count × (name: string, n_dims u32, ne[n_dims] u64, ggml_type u32, offset u64)
 *   padding to general.alignment (32), then the tensor data, each tensor at its offset (aligned)
 *
 * Strings are u64 length + UTF-8 bytes; arrays are element type u32 + count u64 + elements; all
 * little-endian. ne[0] is the fastest-moving dimension: a (rows, cols) row-major matrix has
 * ne = [cols, rows], so a Linear weight (out, in) is ne = [in, out].
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** gguf_type: the metadata value types. */
export const GGUF_VALUE_TYPE = {
  UINT8: 0, INT8: 1, UINT16: 2, INT16: 3, UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10, INT64: 11, FLOAT64: 12,
} as const;
export type GgufValueTypeCode = (typeof GGUF_VALUE_TYPE)[keyof typeof GGUF_VALUE_TYPE];

/** ggml_type codes of the tensor types qkv writes and reads. */
export const GGML_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
export type GgmlTypeName = keyof typeof GGML_TYPE;

/** Block size (elements) and bytes per block of each ggml type. */
export const GGML_TYPE_SIZE: Record<GgmlTypeName, { blockSize: number; blockBytes: number }> = {
  F32: { blockSize: 1, blockBytes: 4 },
  F16: { blockSize: 1, blockBytes: 2 },
  Q4_0: { blockSize: 32, blockBytes: 18 },
  Q8_0: { blockSize: 32, blockBytes: 34 },
};

/** llama_ftype (`general.file_type`): what most of the weights are. */
export const LLAMA_FILE_TYPE: Record<GgmlTypeName, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

/**
 * A metadata value with its GGUF type spelled out where JavaScript cannot tell (a number is
 * u32, i32, f32, u64…): `{ type: 'UINT32', value: 12 }`. Strings, booleans and string arrays are
 * unambiguous and may be given bare.
 */
export type GgufValue =
  | string
  | boolean
  | { type: Exclude<keyof typeof GGUF_VALUE_TYPE, 'ARRAY' | 'STRING' | 'BOOL'>; value: number | bigint }
  | { type: 'ARRAY'; itemType: keyof typeof GGUF_VALUE_TYPE; value: readonly (string | number | bigint | boolean)[] };

/** What the reader returns for a value: numbers (u64/i64 as bigint only past 2⁵³), strings, arrays. */
export type GgufReadValue = string | number | bigint | boolean | GgufReadValue[];

export interface GgufTensorInfo {
  name: string;
  /** ne: fastest dimension first. */
  dims: number[];
  type: GgmlTypeName;
  /** From the start of the data section. */
  offset: number;
  /** Bytes the tensor's data takes. */
  sizeBytes: number;
}

/** Bytes of a tensor of `type` with `dims` (ne0 must be a multiple of the block size). */
export function ggmlTensorBytes(type: GgmlTypeName, dims: readonly number[]): number {
  const { blockSize, blockBytes } = GGML_TYPE_SIZE[type];
  const elements = dims.reduce((a, b) => a * b, 1);
  return (elements / blockSize) * blockBytes;
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}
