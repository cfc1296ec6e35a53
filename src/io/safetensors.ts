/**
 * safetensors, the tensor file format of the Hugging Face ecosystem, read and written here.
 *
 * Layout (https://github.com/huggingface/safetensors, "Format"):
 *
 *   [8 bytes]  N, the header length: unsigned 64-bit little-endian
 *   [N bytes]  UTF-8 JSON header: { "__metadata__": { string: string },
 *                                   "<name>": { "dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end] }, … }
 *   [rest]     the byte buffer: each tensor row-major, little-endian, at [begin, end) of the buffer
 *
 * Writing follows the reference implementation byte for byte: tensors sorted by dtype (widest
 * first, so every tensor starts at a multiple of its element size) and then by name, the
 * header compact JSON with `__metadata__` first, padded with spaces to a multiple of 8 so the
 * buffer starts 8-byte aligned.
 *
 * Reading validates everything before trusting any of it, and every error names the file and
 * the tensor or field: header length (at most 100 MB, and no more than the file holds), UTF-8,
 * JSON, each entry's dtype, shape and data_offsets, shape × dtype size == byte length, and
 * offsets that tile the buffer exactly (no overlap, no gap, nothing past the end: a truncated
 * file is caught here).
 *
 * F16 and BF16 are read into Float32Array (exactly) and written from numbers with
 * round-to-nearest-even (see `./half.ts`).
 *
 * @example
 *   saveSafetensors('out/model.safetensors', { 'wte.weight': wte }, { format: 'pt' });
 *   const { tensors } = loadSafetensors('out/model.safetensors');
 *   const wte = toTensor(tensors.get('wte.weight')!);
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { QkvValueError, formatShape } from '../tensor/errors.ts';
import { numel } from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';
import { writeFileAtomic } from './atomic.ts';
import { QkvFormatError } from './errors.ts';
import { decodeBfloat16, decodeFloat16, encodeBfloat16, encodeFloat16 } from './half.ts';

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

interface DTypeInfo {
  sizeBytes: number;
  /** Position in the reference implementation's dtype enum; writing sorts by it, descending. */
  order: number;
  /** The integer range a value must lie in (integer dtypes only). */
  integerRange?: readonly [number, number];
}

const DTYPES: Record<SafeDType, DTypeInfo> = {
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
const UNSUPPORTED_DTYPES = new Set([
  'F4', 'F6_E2M3', 'F6_E3M2', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'C64',
]);

/** The reference implementation's bound: a larger header is refused before it is read. */
export const MAX_HEADER_BYTES = 100_000_000;
const HEADER_LENGTH_BYTES = 8;
const METADATA_KEY = '__metadata__';

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isSafeDType(name: string): name is SafeDType {
  return Object.hasOwn(DTYPES, name);
}

/** Bytes per element of a dtype. */
export function dtypeSizeBytes(dtype: SafeDType): number {
  return DTYPES[dtype].sizeBytes;
}

// ---- writing ---------------------------------------------------------------------------------

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

function swapBytes(bytes: Uint8Array, elementSize: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let start = 0; start < bytes.length; start += elementSize) {
    for (let k = 0; k < elementSize; k++) out[start + k] = bytes[start + elementSize - 1 - k];
  }
  return out;
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

// ---- reading ---------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A fresh, aligned copy of the bytes viewed as dtype's array (copy: the result never aliases the file buffer). */
function decodeValues(dtype: SafeDType, bytes: Uint8Array): SafeDataOf[SafeDType] {
  const size = DTYPES[dtype].sizeBytes;
  // `new Uint8Array(bytes)` copies into a fresh buffer starting at 0 (aligned); `bytes.slice()`
  // would not do for a Node Buffer, whose slice is a view into the whole file.
  const own = LITTLE_ENDIAN_HOST || size === 1 ? new Uint8Array(bytes) : swapBytes(bytes, size);
  const buffer = own.buffer;
  switch (dtype) {
    case 'F64': return new Float64Array(buffer);
    case 'F32': return new Float32Array(buffer);
    case 'F16': return decodeFloat16(new Uint16Array(buffer));
    case 'BF16': return decodeBfloat16(new Uint16Array(buffer));
    case 'I64': return new BigInt64Array(buffer);
    case 'I32': return new Int32Array(buffer);
    case 'I16': return new Int16Array(buffer);
    case 'I8': return new Int8Array(buffer);
    case 'U64': return new BigUint64Array(buffer);
    case 'U32': return new Uint32Array(buffer);
    case 'U16': return new Uint16Array(buffer);
    case 'U8': case 'BOOL': return own;
  }
}

interface HeaderEntry {
  name: string;
  dtype: SafeDType;
  shape: number[];
  begin: number;
  end: number;
}

function validateEntry(file: string, name: string, info: unknown, bufferLength: number): HeaderEntry {
  const where = `tensor "${name}"`;
  const fail = (detail: string): never => {
    throw new QkvFormatError(file, detail, where);
  };
  if (!isPlainObject(info)) return fail(`expected an object with dtype, shape and data_offsets, found ${describe(info)}`);

  const dtype = info.dtype;
  if (typeof dtype !== 'string') return fail(`dtype must be a string, found ${describe(dtype)}`);
  if (UNSUPPORTED_DTYPES.has(dtype)) return fail(`dtype ${dtype} is valid safetensors but qkv does not read it`);
  if (!isSafeDType(dtype)) return fail(`unknown dtype ${describe(dtype)}; expected one of ${Object.keys(DTYPES).join(', ')}`);

  const shape = info.shape;
  if (!Array.isArray(shape) || !shape.every((dim): dim is number => Number.isSafeInteger(dim) && (dim as number) >= 0)) {
    return fail(`shape must be a list of non-negative integers, found ${describe(shape)}`);
  }

  const offsets = info.data_offsets;
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((offset): offset is number => Number.isSafeInteger(offset) && (offset as number) >= 0)
  ) {
    return fail(`data_offsets must be [begin, end] with non-negative integers, found ${describe(offsets)}`);
  }
  const [begin, end] = offsets;
  if (end < begin) return fail(`data_offsets [${begin},${end}] end before they begin`);
  if (end > bufferLength) {
    return fail(`data_offsets [${begin},${end}] run past the end of the ${bufferLength}-byte data buffer (is the file truncated?)`);
  }
  const elements = numel(shape);
  const expectedBytes = elements * DTYPES[dtype].sizeBytes;
  if (!Number.isSafeInteger(expectedBytes) || expectedBytes !== end - begin) {
    return fail(`data_offsets [${begin},${end}] hold ${end - begin} bytes, but shape ${formatShape(shape)} of ${dtype} needs ${expectedBytes}`);
  }
  return { name, dtype, shape, begin, end };
}

/** `__metadata__` must map strings to strings. */
function validateMetadata(file: string, value: unknown): SafetensorsMetadata {
  if (!isPlainObject(value)) throw new QkvFormatError(file, `expected an object of strings, found ${describe(value)}`, METADATA_KEY);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new QkvFormatError(file, `values must be strings, found ${describe(item)}`, `${METADATA_KEY}["${key}"]`);
    }
  }
  return { ...(value as SafetensorsMetadata) };
}

/** N from the first 8 bytes, checked against the 100 MB bound and against the file's size. */
function readHeaderLength(first8: Uint8Array, fileSizeBytes: number, file: string): number {
  if (fileSizeBytes < HEADER_LENGTH_BYTES) {
    throw new QkvFormatError(file, `file is ${fileSizeBytes} bytes, too short for the 8-byte header length (truncated?)`, 'header length');
  }
  const declaredLength = new DataView(first8.buffer, first8.byteOffset, HEADER_LENGTH_BYTES).getBigUint64(0, true);
  if (declaredLength > BigInt(MAX_HEADER_BYTES)) {
    throw new QkvFormatError(file, `${declaredLength} bytes is more than the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`, 'header length');
  }
  const headerLength = Number(declaredLength);
  if (headerLength > fileSizeBytes - HEADER_LENGTH_BYTES) {
    throw new QkvFormatError(
      file,
      `${headerLength} bytes, but only ${fileSizeBytes - HEADER_LENGTH_BYTES} bytes follow it (truncated file?)`,
      'header length',
    );
  }
  return headerLength;
}

/** The header's JSON object (UTF-8 and JSON checked; entries not yet). */
function parseHeaderJson(headerBytes: Uint8Array, file: string): Record<string, unknown> {
  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new QkvFormatError(file, 'is not valid UTF-8', 'header');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    throw new QkvFormatError(file, `is not valid JSON (${(error as Error).message})`, 'header');
  }
  if (!isPlainObject(header)) throw new QkvFormatError(file, `must be a JSON object, found ${describe(header)}`, 'header');
  return header;
}

/**
 * Parses a safetensors file held in memory. `fileNameForErrors` starts every error message.
 * Throws `QkvFormatError` (naming the file and the tensor or field) for anything malformed.
 *
 * @example const { tensors, metadata } = parseSafetensors(bytes, 'model.safetensors');
 */
export function parseSafetensors(bytes: Uint8Array, fileNameForErrors = '<safetensors bytes>'): ParsedSafetensors {
  const file = fileNameForErrors;
  const headerLength = readHeaderLength(bytes, bytes.length, file);
  const header = parseHeaderJson(bytes.subarray(HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + headerLength), file);

  const bufferStart = HEADER_LENGTH_BYTES + headerLength;
  const bufferLength = bytes.length - bufferStart;
  let metadata: SafetensorsMetadata = {};
  const entries: HeaderEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = info === null ? {} : validateMetadata(file, info);
    else entries.push(validateEntry(file, name, info, bufferLength));
  }

  // The tensors must tile the buffer: sorted by offsets, each begins where the previous ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of entries) {
    if (entry.begin < covered) {
      throw new QkvFormatError(
        file,
        `data_offsets [${entry.begin},${entry.end}] overlap those of tensor "${previous!.name}" [${previous!.begin},${previous!.end}]`,
        `tensor "${entry.name}"`,
      );
    }
    if (entry.begin > covered) {
      throw new QkvFormatError(
        file,
        `data_offsets [${entry.begin},${entry.end}] leave bytes ${covered}..${entry.begin} of the data buffer unused`,
        `tensor "${entry.name}"`,
      );
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered !== bufferLength) {
    throw new QkvFormatError(
      file,
      `the tensors cover ${covered} bytes but the data buffer has ${bufferLength}: ${bufferLength - covered} trailing bytes belong to no tensor`,
      'data buffer',
    );
  }

  const tensors = new Map<string, SafeTensorEntry>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const data = decodeValues(dtype, bytes.subarray(bufferStart + begin, bufferStart + end));
    tensors.set(name, { dtype, shape, data } as SafeTensorEntry);
  }
  return { tensors, metadata };
}

/**
 * Reads and validates a safetensors file.
 *
 * @example const { tensors } = loadSafetensors('out/model.safetensors');
 */
export function loadSafetensors(path: string): ParsedSafetensors {
  return parseSafetensors(readFileSync(path), path);
}

/**
 * Only the `__metadata__` of a safetensors file, reading just its header (not the tensors).
 *
 * @example loadSafetensorsMetadata('out/model.safetensors').format === 'pt'
 */
export function loadSafetensorsMetadata(path: string): SafetensorsMetadata {
  const fd = openSync(path, 'r');
  try {
    const first8 = new Uint8Array(HEADER_LENGTH_BYTES);
    readSync(fd, first8, 0, HEADER_LENGTH_BYTES, 0);
    const headerLength = readHeaderLength(first8, fstatSync(fd).size, path);
    const headerBytes = new Uint8Array(headerLength);
    let read = 0;
    while (read < headerLength) {
      const count = readSync(fd, headerBytes, read, headerLength - read, HEADER_LENGTH_BYTES + read);
      if (count === 0) throw new QkvFormatError(path, 'the file ended while its header was being read', 'header');
      read += count;
    }
    const metadata = parseHeaderJson(headerBytes, path)[METADATA_KEY];
    return metadata === undefined || metadata === null ? {} : validateMetadata(path, metadata);
  } finally {
    closeSync(fd);
  }
}

/**
 * A float entry as a Tensor: F32, F16 and BF16 give float32, F64 gives float64. The Tensor
 * owns the entry's array (no copy). Integer and BOOL entries are refused, naming the tensor.
 *
 * @example const wte = toTensor(tensors.get('wte.weight')!, 'wte.weight');
 */
export function toTensor(entry: SafeTensorEntry, nameForErrors = 'tensor'): Tensor {
  if (entry.data instanceof Float32Array || entry.data instanceof Float64Array) return new Tensor(entry.data, entry.shape);
  throw new QkvValueError(`toTensor: "${nameForErrors}" has dtype ${entry.dtype}; only F64, F32, F16 and BF16 become Tensors`);
}
