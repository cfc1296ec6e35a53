/**
 * The safetensors format's vocabulary, shared by the reader (`./safetensors.ts`) and the writer
 * (`./safetensors-writer.ts`): dtypes with their sizes and sort order, value types, limits.
 * See `./safetensors.ts` for the layout.
 */
import type { Tensor } from '../tensor/tensor.ts';

/** The dtypes qkv reads and writes, with the safetensors names. */
export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** The array a tensor of each dtype is read into. F16 and BF16 widen to float32; BOOL is 0/1 bytes. */
export interface SafeDataOf {
  F64: Float64Array;
  F32: Float32Array;
  F16: Float32Array;
  BF16: Float32Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
}

/** What may be written as each dtype: numbers (64-bit ints also as bigints, BOOL also as booleans). */
export interface SafeInputDataOf {
  F64: ArrayLike<number>;
  F32: ArrayLike<number>;
  F16: ArrayLike<number>;
  BF16: ArrayLike<number>;
  I64: ArrayLike<number> | ArrayLike<bigint>;
  I32: ArrayLike<number>;
  I16: ArrayLike<number>;
  I8: ArrayLike<number>;
  U64: ArrayLike<number> | ArrayLike<bigint>;
  U32: ArrayLike<number>;
  U16: ArrayLike<number>;
  U8: ArrayLike<number>;
  BOOL: ArrayLike<number | boolean>;
}

/** A tensor read from a file; `dtype` tells the type of `data` (`if (e.dtype === 'I64') e.data` is a BigInt64Array). */
export type SafeTensorEntry = { [D in SafeDType]: { dtype: D; shape: number[]; data: SafeDataOf[D] } }[SafeDType];

/** A tensor to write: a `Tensor` (written as F32 or F64, its own dtype) or raw row-major values. */
export type SafeTensorInput =
  | Tensor
  | { [D in SafeDType]: { dtype: D; shape: readonly number[]; data: SafeInputDataOf[D] } }[SafeDType];

/** String-to-string metadata (`__metadata__`); Hugging Face transformers expects `{ format: 'pt' }`. */
export type SafetensorsMetadata = Record<string, string>;

export interface ParsedSafetensors {
  /** The tensors in the order their bytes appear in the file. */
  tensors: Map<string, SafeTensorEntry>;
  metadata: SafetensorsMetadata;
}

export interface DTypeInfo {
  sizeBytes: number;
  /** Position in the reference implementation's dtype enum; writing sorts by it, descending. */
  order: number;
  /** The integer range a value must lie in (integer dtypes only). */
  integerRange?: readonly [number, number];
}

export const DTYPES: Record<SafeDType, DTypeInfo> = {
  BOOL: { sizeBytes: 1, order: 0, integerRange: [0, 1] },
  U8: { sizeBytes: 1, order: 1, integerRange: [0, 0xff] },
  I8: { sizeBytes: 1, order: 2, integerRange: [-0x80, 0x7f] },
  I16: { sizeBytes: 2, order: 3, integerRange: [-0x8000, 0x7fff] },
  U16: { sizeBytes: 2, order: 4, integerRange: [0, 0xffff] },
  F16: { sizeBytes: 2, order: 5 },
  BF16: { sizeBytes: 2, order: 6 },
  I32: { sizeBytes: 4, order: 7, integerRange: [-0x80000000, 0x7fffffff] },
  U32: { sizeBytes: 4, order: 8, integerRange: [0, 0xffffffff] },
  F32: { sizeBytes: 4, order: 9 },
  F64: { sizeBytes: 8, order: 10 },
  I64: { sizeBytes: 8, order: 11, integerRange: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] },
  U64: { sizeBytes: 8, order: 12, integerRange: [0, Number.MAX_SAFE_INTEGER] },
};

/** Valid safetensors dtypes that qkv does not read, named so the error can say so. */
export const UNSUPPORTED_DTYPES = new Set([
  'F4', 'F6_E2M3', 'F6_E3M2', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'C64',
]);

/** The reference implementation's bound: a larger header is refused before it is read. */
export const MAX_HEADER_BYTES = 100_000_000;
export const HEADER_LENGTH_BYTES = 8;
export const METADATA_KEY = '__metadata__';

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isSafeDType(name: string): name is SafeDType {
  return Object.hasOwn(DTYPES, name);
}

/** Bytes per element of a dtype. */
export function dtypeSizeBytes(dtype: SafeDType): number {
  return DTYPES[dtype].sizeBytes;
}

/** Reverses the byte order of each element (for big-endian hosts; safetensors is little-endian). */
export function swapBytes(bytes: Uint8Array, elementSize: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let start = 0; start < bytes.length; start += elementSize) {
    for (let k = 0; k < elementSize; k++) out[start + k] = bytes[start + elementSize - 1 - k];
  }
  return out;
}
