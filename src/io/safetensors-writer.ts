/**
 * Writing safetensors, byte for byte as the reference implementation does: tensors sorted by
 * dtype (widest first, so every tensor starts at a multiple of its element size) and then by
 * name, the header compact JSON with `__metadata__` first, padded with spaces to a multiple of 8
 * so the buffer starts 8-byte aligned. F16 and BF16 are written from numbers with
 * round-to-nearest-even (`./half.ts`). See `./safetensors.ts` for the layout.
 */
import { QkvValueError, formatShape } from '../tensor/errors.ts';
import { numel } from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';
import { writeFileAtomic } from './atomic.ts';
import { encodeBfloat16, encodeFloat16 } from './half.ts';
import { DTYPES, HEADER_LENGTH_BYTES, METADATA_KEY, LITTLE_ENDIAN_HOST, MAX_HEADER_BYTES, isSafeDType, type SafeDType, type SafeInputDataOf, type SafeTensorInput, swapBytes, type SafetensorsMetadata } from './safetensors-format.ts';
interface PreparedTensor {
  name: string;
  dtype: SafeDType;
  shape: number[];
  bytes: Uint8Array;
}

/** Little-endian bytes of a typed array (a view on little-endian hosts, a swapped copy otherwise). */
function littleEndianBytes(values: ArrayBufferView & { BYTES_PER_ELEMENT: number }): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return LITTLE_ENDIAN_HOST ? bytes : swapBytes(bytes, values.BYTES_PER_ELEMENT);
}


/** Where a write error points: the file being written (or `<safetensors>` in memory) and the tensor. */
interface WriteTarget {
  file: string;
  name: string;
}

function writeError(target: WriteTarget, detail: string): QkvValueError {
  return new QkvValueError(`${target.file}: tensor "${target.name}": ${detail}`);
}

function checkIntegers(values: ArrayLike<number>, dtype: SafeDType, target: WriteTarget, firstIndex = 0): void {
  const [low, high] = DTYPES[dtype].integerRange!;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isInteger(value) || value < low || value > high) {
      throw writeError(target, `element ${firstIndex + i} is ${value}, not an integer in [${low}, ${high}] as ${dtype} needs`);
    }
  }
}

const BIGINT_RANGES = { I64: [-(2n ** 63n), 2n ** 63n - 1n], U64: [0n, 2n ** 64n - 1n] } as const;

/** 64-bit values as bigints; numbers must be safe integers (beyond 2^53 a number has already lost digits). */
function toBigInts(values: ArrayLike<number> | ArrayLike<bigint>, dtype: 'I64' | 'U64', target: WriteTarget): bigint[] {
  const [low, high] = BIGINT_RANGES[dtype];
  const out = new Array<bigint>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'bigint') {
      if (value < low || value > high) throw writeError(target, `element ${i} is ${value}n, outside [${low}, ${high}] as ${dtype} needs`);
      out[i] = value;
    } else {
      checkIntegers([value], dtype, target, i);
      out[i] = BigInt(value);
    }
  }
  return out;
}

/** Row-major values of dtype `dtype` as the little-endian bytes the file holds. */
function encodeValues(dtype: SafeDType, data: SafeInputDataOf[SafeDType], target: WriteTarget): Uint8Array {
  switch (dtype) {
    case 'F64':
      return littleEndianBytes(data instanceof Float64Array ? data : Float64Array.from(data as ArrayLike<number>));
    case 'F32':
      return littleEndianBytes(data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>));
    case 'F16':
      return littleEndianBytes(encodeFloat16(data as ArrayLike<number>));
    case 'BF16':
      return littleEndianBytes(encodeBfloat16(data as ArrayLike<number>));
    case 'I64':
      if (data instanceof BigInt64Array) return littleEndianBytes(data);
      return littleEndianBytes(BigInt64Array.from(toBigInts(data as ArrayLike<number>, dtype, target)));
    case 'U64':
      if (data instanceof BigUint64Array) return littleEndianBytes(data);
      return littleEndianBytes(BigUint64Array.from(toBigInts(data as ArrayLike<number>, dtype, target)));
    case 'BOOL': {
      const out = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const value = (data as ArrayLike<number | boolean>)[i];
        if (value !== true && value !== false && value !== 0 && value !== 1) {
          throw writeError(target, `element ${i} is ${value}, not a boolean (true/false or 1/0) as BOOL needs`);
        }
        out[i] = Number(value);
      }
      return out;
    }
    default: {
      const arrays = { I32: Int32Array, I16: Int16Array, I8: Int8Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array };
      const Kind = arrays[dtype];
      if (data instanceof Kind) return littleEndianBytes(data);
      checkIntegers(data as ArrayLike<number>, dtype, target);
      return littleEndianBytes(Kind.from(data as ArrayLike<number>));
    }
  }
}

function prepareTensor(name: string, input: SafeTensorInput, file: string): PreparedTensor {
  const target = { file, name };
  if (input instanceof Tensor) {
    // A contiguous tensor is viewed, not copied: the bytes are written before this call returns.
    const values = input.isContiguous() ? input.data.subarray(input.offset, input.offset + input.size) : input.contiguousData();
    return { name, dtype: values instanceof Float64Array ? 'F64' : 'F32', shape: [...input.shape], bytes: littleEndianBytes(values) };
  }
  const { dtype, shape, data } = input;
  if (!isSafeDType(dtype)) {
    throw writeError(target, `unknown dtype ${String(dtype)}; expected one of ${Object.keys(DTYPES).join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw writeError(target, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (numel(shape) !== data.length) {
    throw writeError(target, `${data.length} values cannot have shape ${formatShape(shape)} (${numel(shape)} elements)`);
  }
  return { name, dtype, shape: [...shape], bytes: encodeValues(dtype, data, target) };
}

const utf8 = new TextEncoder();

/** Byte-wise comparison of the UTF-8 names, as the reference implementation sorts (Rust `str` order). */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

/**
 * The file as chunks: the 8-byte length, the padded header, then each tensor's bytes. Used by
 * both `serializeSafetensors` (concatenated) and `saveSafetensors` (streamed to disk).
 */
function safetensorsChunks(
  tensors: Record<string, SafeTensorInput> | Map<string, SafeTensorInput>,
  metadata: SafetensorsMetadata | undefined,
  file: string,
): Uint8Array[] {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const prepared = entries.map(([name, input]) => {
    if (name === METADATA_KEY) throw new QkvValueError(`${file}: "${METADATA_KEY}" is reserved and cannot name a tensor`);
    return prepareTensor(name, input, file);
  });
  prepared.sort((a, b) => DTYPES[b.dtype].order - DTYPES[a.dtype].order || compareUtf8(a.name, b.name));

  // No prototype, so a tensor named "__proto__" becomes a key like any other.
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new QkvValueError(`${file}: ${METADATA_KEY}["${key}"] is a ${typeof value}; metadata values must be strings`);
      }
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const tensor of prepared) {
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.bytes.length] };
    offset += tensor.bytes.length;
  }
  const json = utf8.encode(JSON.stringify(header));
  // Spaces up to a multiple of 8, so the byte buffer starts 8-byte aligned.
  const paddedLength = Math.ceil(json.length / HEADER_LENGTH_BYTES) * HEADER_LENGTH_BYTES;
  if (paddedLength > MAX_HEADER_BYTES) {
    throw new QkvValueError(`${file}: the header of ${prepared.length} tensors would be ${paddedLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce`);
  }
  const headerBytes = new Uint8Array(paddedLength).fill(0x20);
  headerBytes.set(json);
  const lengthBytes = new Uint8Array(HEADER_LENGTH_BYTES);
  new DataView(lengthBytes.buffer).setBigUint64(0, BigInt(paddedLength), true);
  return [lengthBytes, headerBytes, ...prepared.map((tensor) => tensor.bytes)];
}

/**
 * The safetensors file for `tensors` (and optional string metadata) as bytes.
 *
 * @example serializeSafetensors({ w: Tensor.from([1, 2]), ids: { dtype: 'I64', shape: [2], data: [7, 9] } })
 */
export function serializeSafetensors(
  tensors: Record<string, SafeTensorInput> | Map<string, SafeTensorInput>,
  metadata?: SafetensorsMetadata,
): Uint8Array {
  const chunks = safetensorsChunks(tensors, metadata, '<safetensors>');
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let position = 0;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

/**
 * Writes a safetensors file atomically (temporary file, fsync, rename).
 *
 * @example saveSafetensors('out/optimizer.safetensors', { 'exp_avg.wte.weight': m }, { format: 'pt' });
 */
export function saveSafetensors(
  path: string,
  tensors: Record<string, SafeTensorInput> | Map<string, SafeTensorInput>,
  metadata?: SafetensorsMetadata,
): void {
  writeFileAtomic(path, safetensorsChunks(tensors, metadata, path));
}
