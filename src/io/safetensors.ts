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
 * round-to-nearest-even (see `./half.ts`). `loadSafetensors` reads the file once into a buffer of
 * its own and hands out aligned tensors as views into it (no second copy); `parseSafetensors`
 * copies out of the caller's bytes. To read into existing tensors without holding the file at
 * all, see `./safetensors-load.ts`.
 *
 * @example
 *   saveSafetensors('out/model.safetensors', { 'wte.weight': wte }, { format: 'pt' });
 *   const { tensors } = loadSafetensors('out/model.safetensors');
 *   const wte = toTensor(tensors.get('wte.weight')!);
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { QkvValueError, formatShape } from '../tensor/errors.ts';
import { numel } from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';
import { QkvFormatError } from './errors.ts';
import { decodeBfloat16, decodeFloat16 } from './half.ts';
import { DTYPES, UNSUPPORTED_DTYPES, HEADER_LENGTH_BYTES, METADATA_KEY, LITTLE_ENDIAN_HOST, MAX_HEADER_BYTES, isSafeDType, type SafeDType, type SafeDataOf, type SafeTensorEntry, type SafetensorsMetadata, swapBytes, type ParsedSafetensors } from './safetensors-format.ts';

export * from './safetensors-format.ts';
export { serializeSafetensors, saveSafetensors } from './safetensors-writer.ts';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * The bytes viewed as dtype's array: a view into `bytes` when `alias` is set and the bytes are
 * aligned for the type (little-endian host), otherwise a fresh aligned copy. F16 and BF16 are
 * always widened into a new Float32Array.
 */
function decodeValues(dtype: SafeDType, bytes: Uint8Array, alias: boolean): SafeDataOf[SafeDType] {
  const size = DTYPES[dtype].sizeBytes;
  const canView = alias && LITTLE_ENDIAN_HOST && bytes.byteOffset % size === 0;
  // `new Uint8Array(bytes)` copies into a fresh buffer starting at 0 (aligned, one bulk copy);
  // `bytes.slice()` would not do for a Node Buffer, whose slice is a view into the whole file.
  const own = canView ? bytes : LITTLE_ENDIAN_HOST || size === 1 ? new Uint8Array(bytes) : swapBytes(bytes, size);
  const { buffer, byteOffset } = own;
  const count = own.byteLength / size;
  switch (dtype) {
    case 'F64': return new Float64Array(buffer, byteOffset, count);
    case 'F32': return new Float32Array(buffer, byteOffset, count);
    case 'F16': return decodeFloat16(halfWords(own));
    case 'BF16': return decodeBfloat16(halfWords(own));
    case 'I64': return new BigInt64Array(buffer, byteOffset, count);
    case 'I32': return new Int32Array(buffer, byteOffset, count);
    case 'I16': return new Int16Array(buffer, byteOffset, count);
    case 'I8': return new Int8Array(buffer, byteOffset, count);
    case 'U64': return new BigUint64Array(buffer, byteOffset, count);
    case 'U32': return new Uint32Array(buffer, byteOffset, count);
    case 'U16': return new Uint16Array(buffer, byteOffset, count);
    case 'U8': case 'BOOL': return own;
  }
}

/** 16-bit words of little-endian bytes (a view when aligned, else one bulk copy). */
function halfWords(bytes: Uint8Array): Uint16Array {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : new Uint8Array(bytes);
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
}

/** The whole file in a new ArrayBuffer of its own (Node's readFileSync may hand out a slice of a shared pool). */
function readFileFresh(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(fstatSync(fd).size);
    readFully(fd, bytes, 0, path);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Fills `into` from the file at `position`; a read that comes up short means the file shrank under us. */
export function readFully(fd: number, into: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < into.byteLength) {
    const count = readSync(fd, into, done, into.byteLength - done, position + done);
    if (count === 0) throw new QkvFormatError(file, `the file ended at byte ${position + done}, before the ${into.byteLength} bytes expected there`, 'data buffer');
    done += count;
  }
}

/** One tensor of a validated header: offsets are into the data buffer (after the header). */
export interface HeaderEntry {
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
export function readHeaderLength(first8: Uint8Array, fileSizeBytes: number, file: string): number {
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
 * Validates a header's entries against a data buffer of `bufferLength` bytes: each entry on its
 * own, then that together they tile the buffer exactly. Returns the metadata and the entries in
 * file order. Shared by the in-memory parser and the streaming reader (`./safetensors-load.ts`).
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, bufferLength: number, file: string): { metadata: SafetensorsMetadata; entries: HeaderEntry[] } {
  const header = parseHeaderJson(headerBytes, file);
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
  return { metadata, entries };
}

/**
 * Parses a safetensors file held in memory. `fileNameForErrors` starts every error message.
 * Throws `QkvFormatError` (naming the file and the tensor or field) for anything malformed.
 * Each tensor gets its own copy of its bytes: nothing aliases `bytes`.
 *
 * @example const { tensors, metadata } = parseSafetensors(bytes, 'model.safetensors');
 */
export function parseSafetensors(bytes: Uint8Array, fileNameForErrors = '<safetensors bytes>'): ParsedSafetensors {
  return parseWith(bytes, fileNameForErrors, false);
}

/**
 * The parser. With `aliasBytes` (only for a buffer nobody else holds), F32/F64/integer tensors
 * whose bytes sit at an offset aligned for their element type become views into `bytes` instead
 * of copies: loading a file then costs its size once, not twice.
 */
function parseWith(bytes: Uint8Array, file: string, aliasBytes: boolean): ParsedSafetensors {
  const headerLength = readHeaderLength(bytes, bytes.length, file);
  const bufferStart = HEADER_LENGTH_BYTES + headerLength;
  const { metadata, entries } = parseSafetensorsHeader(bytes.subarray(HEADER_LENGTH_BYTES, bufferStart), bytes.length - bufferStart, file);
  const tensors = new Map<string, SafeTensorEntry>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const data = decodeValues(dtype, bytes.subarray(bufferStart + begin, bufferStart + end), aliasBytes);
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
  // The file goes into a buffer of our own (offset 0, so the 8-byte-aligned data section of a
  // well-formed file stays aligned), and the tensors are views into it where alignment allows.
  return parseWith(readFileFresh(path), path, true);
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
    readFully(fd, headerBytes, HEADER_LENGTH_BYTES, path);
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
