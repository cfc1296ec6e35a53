/**
 * Loading a safetensors file straight into tensors that already exist — a model's parameters —
 * without holding the file in memory: the header is read and validated (every check of
 * `./safetensors.ts`), the names are matched against the targets (missing, unexpected and
 * wrongly shaped keys all reported at once, before anything is written), then each tensor's
 * bytes are read from the file directly into its target's storage.
 *
 * So loading a model costs the model's memory once (not file + copies), and no JavaScript loop
 * touches F32 data: `readSync` writes into the Float32Array's own bytes. F16 and BF16 are read in
 * chunks and widened by the bulk routines of `./half.ts`; F64 ↔ float32 by `TypedArray.set`.
 *
 * @example
 *   const model = noInitWeights(() => new GPT(config));
 *   loadSafetensorsInto('gpt/model.safetensors', new Map(Object.entries(model.stateDict())));
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { QkvStateDictError, formatShape } from '../tensor/errors.ts';
import { shapesEqual } from '../tensor/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { QkvFormatError } from './errors.ts';
import { decodeBfloat16Into, decodeFloat16Into } from './half.ts';
import { DTYPES, HEADER_LENGTH_BYTES, LITTLE_ENDIAN_HOST, swapBytes, type SafetensorsMetadata } from './safetensors-format.ts';
import { adoptMappedEntries, mmapByDefault } from './safetensors-mmap.ts';
import { parseSafetensorsHeader, readFully, readHeaderLength, type HeaderEntry } from './safetensors.ts';

/** A validated header, with where the data buffer starts in the file. */
export interface SafetensorsIndex {
  path: string;
  metadata: SafetensorsMetadata;
  /** The tensors in file order; offsets are into the data buffer. */
  entries: HeaderEntry[];
  /** Byte position of the data buffer in the file (8 + header length). */
  dataStart: number;
}

/**
 * Reads and validates only the header of a safetensors file (names, dtypes, shapes, offsets).
 *
 * @example readSafetensorsIndex('gpt/model.safetensors').entries.map((e) => e.name)
 */
export function readSafetensorsIndex(path: string): SafetensorsIndex {
  const fd = openSync(path, 'r');
  try {
    return readIndex(fd, path);
  } finally {
    closeSync(fd);
  }
}

function readIndex(fd: number, path: string): SafetensorsIndex {
  const fileSizeBytes = fstatSync(fd).size;
  const first8 = new Uint8Array(HEADER_LENGTH_BYTES);
  readFully(fd, first8.subarray(0, Math.min(HEADER_LENGTH_BYTES, fileSizeBytes)), 0, path);
  const headerLength = readHeaderLength(first8, fileSizeBytes, path);
  const headerBytes = new Uint8Array(headerLength);
  readFully(fd, headerBytes, HEADER_LENGTH_BYTES, path);
  const dataStart = HEADER_LENGTH_BYTES + headerLength;
  const { metadata, entries } = parseSafetensorsHeader(headerBytes, fileSizeBytes - dataStart, path);
  return { path, metadata, entries, dataStart };
}

export interface LoadIntoOptions {
  /**
   * The target name of a file tensor, or null to skip it (tied copies, rebuilt buffers). Default:
   * the file's name unchanged.
   */
  rename?: (fileName: string) => string | null;
  /** Bytes read at a time when values are converted on the way in (default 8 MiB; tests make it small). */
  chunkBytes?: number;
  /**
   * Memory-map the file and use its aligned F32 tensors in place as the targets' storage
   * (`./safetensors-mmap.ts`; targets must be `stateDict()` views, others are read). Default:
   * on the native backend unless `QKV_MMAP=0`.
   */
  mmap?: boolean;
}

export interface LoadIntoResult {
  metadata: SafetensorsMetadata;
  /** File tensors that `rename` skipped. */
  skipped: string[];
  /** Target names whose storage is now a view on the memory-mapped file (empty when nothing was mapped). */
  mapped: string[];
}

/**
 * Reads every tensor of `path` into the target of the same name (after `rename`). Strict: each
 * target must be in the file and each file tensor (not skipped) must have a target of the same
 * shape; otherwise one `QkvStateDictError` lists every problem and nothing is written. Targets
 * are float32 or float64 tensors (a module's `stateDict()` views of its parameters and buffers);
 * the file's F32, F64, F16 or BF16 values are converted to the target's dtype.
 *
 * @example loadSafetensorsInto(path, new Map(Object.entries(model.stateDict())), { rename: (n) => n === 'lm_head.weight' ? null : n });
 */
export function loadSafetensorsInto(path: string, targets: ReadonlyMap<string, Tensor>, options: LoadIntoOptions = {}): LoadIntoResult {
  const rename = options.rename ?? ((name: string) => name);
  const fd = openSync(path, 'r');
  try {
    const index = readIndex(fd, path);
    const skipped: string[] = [];
    const unexpected: string[] = [];
    const entryByTarget = new Map<string, HeaderEntry>();
    for (const entry of index.entries) {
      const name = rename(entry.name);
      if (name === null) skipped.push(entry.name);
      else if (targets.has(name)) entryByTarget.set(name, entry);
      else unexpected.push(name);
    }
    // In the targets' (module) order, as `Module.loadStateDict` reports them.
    const missing: string[] = [];
    const mismatches: string[] = [];
    const plan: Array<{ entry: HeaderEntry; target: Tensor }> = [];
    for (const [name, target] of targets) {
      const entry = entryByTarget.get(name);
      if (entry === undefined) missing.push(name);
      else if (!shapesEqual(entry.shape, target.shape)) mismatches.push(`${name} expected ${formatShape(target.shape)} got ${formatShape(entry.shape)}`);
      else if (!(entry.dtype in FLOAT_DTYPES)) mismatches.push(`${name} has dtype ${entry.dtype}; a float tensor (F32, F64, F16, BF16) was expected`);
      else plan.push({ entry, target });
    }
    const problems: string[] = [];
    if (missing.length > 0) problems.push(`missing keys: ${missing.join(', ')}`);
    if (unexpected.length > 0) problems.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (mismatches.length > 0) problems.push(`shape mismatch: ${mismatches.join(', ')}`);
    if (problems.length > 0) throw new QkvStateDictError(`${path}: ${problems.join('; ')}`);

    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    plan.sort((a, b) => a.entry.begin - b.entry.begin); // read the file front to back
    const toRead = options.mmap ?? mmapByDefault() ? adoptMappedEntries(path, index.dataStart, fstatSync(fd).size, plan) : plan;
    for (const { entry, target } of toRead) readEntryInto(fd, index, entry, target, chunkBytes);
    const mapped = plan.filter((planned) => !toRead.includes(planned)).map(({ entry }) => rename(entry.name)!);
    return { metadata: index.metadata, skipped, mapped };
  } finally {
    closeSync(fd);
  }
}

const FLOAT_DTYPES = { F32: true, F64: true, F16: true, BF16: true } as const;

/** Bytes read at a time when a tensor must be converted on the way in (F16/BF16, or F32 ↔ F64): small enough to stay in cache. */
const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** The target's own storage when it is dense from offset 0 (parameters and buffers always are). */
function denseStorage(target: Tensor): Float32Array | Float64Array | null {
  const data = target.data;
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return null;
  if (!target.isContiguous() || target.offset !== 0 || data.length !== target.size) return null;
  return data;
}

function readEntryInto(fd: number, index: SafetensorsIndex, entry: HeaderEntry, target: Tensor, chunkBytes: number): void {
  const storage = denseStorage(target);
  if (storage === null) {
    throw new QkvFormatError(index.path, `target of shape ${formatShape(target.shape)} is not a dense float tensor from offset 0`, `tensor "${entry.name}"`);
  }
  const position = index.dataStart + entry.begin;
  const sameType = (entry.dtype === 'F32' && storage instanceof Float32Array) || (entry.dtype === 'F64' && storage instanceof Float64Array);
  if (sameType) {
    // The file's bytes go straight into the tensor's storage.
    const bytes = new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength);
    readFully(fd, bytes, position, index.path);
    if (!LITTLE_ENDIAN_HOST) bytes.set(swapBytes(bytes, storage.BYTES_PER_ELEMENT));
    return;
  }
  // Converted on the way in, one chunk at a time (a whole number of elements per chunk).
  const elementBytes = DTYPES[entry.dtype].sizeBytes;
  const chunkElements = Math.max(1, Math.floor(chunkBytes / elementBytes));
  const scratch = new ArrayBuffer(Math.min(entry.end - entry.begin, chunkElements * elementBytes));
  const widened = storage instanceof Float32Array ? null : new Float32Array(Math.min(target.size, chunkElements));
  for (let first = 0; first < target.size; first += chunkElements) {
    const count = Math.min(chunkElements, target.size - first);
    const bytes = new Uint8Array(scratch, 0, count * elementBytes);
    readFully(fd, bytes, position + first * elementBytes, index.path);
    const own = LITTLE_ENDIAN_HOST ? bytes : swapBytes(bytes, elementBytes);
    const out = storage.subarray(first, first + count);
    switch (entry.dtype) {
      case 'F16':
      case 'BF16': {
        const words = new Uint16Array(own.buffer, own.byteOffset, count);
        const decode = entry.dtype === 'F16' ? decodeFloat16Into : decodeBfloat16Into;
        if (out instanceof Float32Array) decode(words, out);
        else out.set(decode(words, widened!.subarray(0, count)));
        break;
      }
      case 'F32':
        out.set(new Float32Array(own.buffer, own.byteOffset, count));
        break;
      case 'F64':
        out.set(new Float64Array(own.buffer, own.byteOffset, count));
        break;
      default:
        throw new QkvFormatError(index.path, `dtype ${entry.dtype} cannot be loaded into a float tensor`, `tensor "${entry.name}"`);
    }
  }
}
