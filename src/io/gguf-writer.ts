/**
 * Writes GGUF v3 files (layout in ./gguf-format.ts): metadata and tensors in the order given,
 * every tensor aligned to 32 bytes, streamed to disk tensor by tensor through an atomic write,
 * so an interrupted export never replaces a good file.
 *
 * @example
 * writeGguf('model.gguf', {
 *   metadata: { 'general.architecture': 'gpt2', 'gpt2.block_count': { type: 'UINT32', value: 12 } },
 *   tensors: [{ name: 'token_embd.weight', type: 'F32', dims: [768, 50257], data: bytes }],
 * });
 */
import { writeFileAtomic } from './atomic.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { alignUp, GGML_TYPE, GGML_TYPE_SIZE, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VALUE_TYPE, GGUF_VERSION, ggmlTensorBytes, type GgmlTypeName, type GgufValue } from './gguf-format.ts';

export interface GgufTensorToWrite {
  name: string;
  type: GgmlTypeName;
  /** ne: fastest dimension first ((rows, cols) row-major → [cols, rows]). */
  dims: readonly number[];
  /** The raw little-endian bytes (F32 / F16 values, or packed Q8_0 / Q4_0 blocks), or a producer of them. */
  data: Uint8Array | (() => Uint8Array);
}

export interface GgufContents {
  metadata: Record<string, GgufValue>;
  tensors: readonly GgufTensorToWrite[];
}

/** Little-endian byte builder for the header. */
class ByteWriter {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  private view(size: number, write: (view: DataView) => void): void {
    const bytes = new Uint8Array(size);
    write(new DataView(bytes.buffer));
    this.push(bytes);
  }
  u8(v: number): void { this.view(1, (d) => d.setUint8(0, v)); }
  i8(v: number): void { this.view(1, (d) => d.setInt8(0, v)); }
  u16(v: number): void { this.view(2, (d) => d.setUint16(0, v, true)); }
  i16(v: number): void { this.view(2, (d) => d.setInt16(0, v, true)); }
  u32(v: number): void { this.view(4, (d) => d.setUint32(0, v, true)); }
  i32(v: number): void { this.view(4, (d) => d.setInt32(0, v, true)); }
  f32(v: number): void { this.view(4, (d) => d.setFloat32(0, v, true)); }
  f64(v: number): void { this.view(8, (d) => d.setFloat64(0, v, true)); }
  u64(v: number | bigint): void { this.view(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  i64(v: number | bigint): void { this.view(8, (d) => d.setBigInt64(0, BigInt(v), true)); }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  zeros(n: number): void { if (n > 0) this.push(new Uint8Array(n)); }
  bytes(): Uint8Array { return Buffer.concat(this.chunks); }
}

type ScalarType = keyof typeof GGUF_VALUE_TYPE;

function writeScalar(out: ByteWriter, type: ScalarType, value: string | number | bigint | boolean, key: string): void {
  const number = (): number => {
    if (typeof value !== 'number' && typeof value !== 'bigint') throw new QkvValueError(`GGUF metadata "${key}": ${type} needs a number, got ${JSON.stringify(value)}`);
    return Number(value);
  };
  switch (type) {
    case 'UINT8': return out.u8(number());
    case 'INT8': return out.i8(number());
    case 'UINT16': return out.u16(number());
    case 'INT16': return out.i16(number());
    case 'UINT32': return out.u32(number());
    case 'INT32': return out.i32(number());
    case 'FLOAT32': return out.f32(number());
    case 'FLOAT64': return out.f64(number());
    case 'UINT64': return out.u64(value as number | bigint);
    case 'INT64': return out.i64(value as number | bigint);
    case 'BOOL': return out.u8(value ? 1 : 0);
    case 'STRING':
      if (typeof value !== 'string') throw new QkvValueError(`GGUF metadata "${key}": STRING needs a string, got ${JSON.stringify(value)}`);
      return out.string(value);
    case 'ARRAY': throw new QkvValueError(`GGUF metadata "${key}": nested arrays are not supported`);
  }
}

function writeValue(out: ByteWriter, key: string, value: GgufValue): void {
  if (typeof value === 'string') {
    out.u32(GGUF_VALUE_TYPE.STRING);
    out.string(value);
  } else if (typeof value === 'boolean') {
    out.u32(GGUF_VALUE_TYPE.BOOL);
    out.u8(value ? 1 : 0);
  } else if (value.type === 'ARRAY') {
    out.u32(GGUF_VALUE_TYPE.ARRAY);
    out.u32(GGUF_VALUE_TYPE[value.itemType]);
    out.u64(value.value.length);
    for (const item of value.value) writeScalar(out, value.itemType, item, key);
  } else {
    out.u32(GGUF_VALUE_TYPE[value.type]);
    writeScalar(out, value.type, value.value, key);
  }
}

/** The header (magic … tensor infos, padded to the alignment) and each tensor's offset. */
function header(contents: GgufContents, alignment: number): { bytes: Uint8Array; offsets: number[] } {
  const out = new ByteWriter();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(contents.tensors.length);
  out.u64(Object.keys(contents.metadata).length);
  for (const [key, value] of Object.entries(contents.metadata)) {
    out.string(key);
    writeValue(out, key, value);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const tensor of contents.tensors) {
    const { blockSize } = GGML_TYPE_SIZE[tensor.type];
    if (tensor.dims.length === 0 || tensor.dims[0] % blockSize !== 0) {
      throw new QkvValueError(`GGUF tensor "${tensor.name}": ${tensor.type} needs ne[0] a multiple of ${blockSize}, got dims [${tensor.dims.join(', ')}]`);
    }
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(GGML_TYPE[tensor.type]);
    out.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + ggmlTensorBytes(tensor.type, tensor.dims), alignment);
  }
  out.zeros(alignUp(out.length, alignment) - out.length);
  return { bytes: out.bytes(), offsets };
}

/** The file as chunks: header, then each tensor padded to the alignment (produced one at a time). */
function* ggufChunks(contents: GgufContents, alignment: number): Iterable<Uint8Array> {
  const { bytes } = header(contents, alignment);
  yield bytes;
  for (const tensor of contents.tensors) {
    const data = typeof tensor.data === 'function' ? tensor.data() : tensor.data;
    const expected = ggmlTensorBytes(tensor.type, tensor.dims);
    if (data.byteLength !== expected) {
      throw new QkvValueError(`GGUF tensor "${tensor.name}": ${tensor.type} [${tensor.dims.join(', ')}] needs ${expected} bytes, got ${data.byteLength}`);
    }
    yield data;
    const padding = alignUp(expected, alignment) - expected;
    if (padding > 0) yield new Uint8Array(padding);
  }
}

/** Writes `path` atomically; returns its size in bytes. */
export function writeGguf(path: string, contents: GgufContents): number {
  const alignment = GGUF_DEFAULT_ALIGNMENT;
  let size = 0;
  const counted = function* (): Iterable<Uint8Array> {
    for (const chunk of ggufChunks(contents, alignment)) {
      size += chunk.byteLength;
      yield chunk;
    }
  };
  writeFileAtomic(path, counted());
  return size;
}

/** The whole file in memory (tests, small models). */
export function serializeGguf(contents: GgufContents): Uint8Array {
  return Buffer.concat([...ggufChunks(contents, GGUF_DEFAULT_ALIGNMENT)]);
}
