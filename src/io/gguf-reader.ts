/**
 * Reads GGUF v3 files (layout in ./gguf-format.ts). Everything is checked before it is trusted,
 * and every error names the file and the field or tensor: magic, version, counts, string and
 * array lengths against the bytes left, value and tensor types, dimensions, offsets and sizes
 * against the data section (a truncated file is caught here).
 *
 * @example
 * const { metadata, tensors } = readGguf('model.gguf');
 * metadata.get('general.architecture'); // 'gpt2'
 * tensors.get('token_embd.weight')!.dims; // [768, 50257]
 */
import { readFileSync } from 'node:fs';
import { QkvFormatError } from './errors.ts';
import { alignUp, GGML_TYPE, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VALUE_TYPE, GGUF_VERSION, ggmlTensorBytes, type GgmlTypeName, type GgufReadValue, type GgufTensorInfo } from './gguf-format.ts';

export interface GgufTensor extends GgufTensorInfo {
  /** The tensor's bytes (a view into the file buffer). */
  data: Uint8Array;
}

export interface ParsedGguf {
  version: number;
  metadata: Map<string, GgufReadValue>;
  /** In file order. */
  tensors: Map<string, GgufTensor>;
  alignment: number;
}

const TYPE_NAME_BY_CODE = new Map<number, GgmlTypeName>(Object.entries(GGML_TYPE).map(([name, code]) => [code, name as GgmlTypeName]));
const VALUE_TYPE_NAMES = Object.fromEntries(Object.entries(GGUF_VALUE_TYPE).map(([name, code]) => [code, name])) as Record<number, string>;

class ByteReader {
  offset = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array, private readonly file: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(detail: string, where: string): never {
    throw new QkvFormatError(this.file, detail, where);
  }
  need(count: number, where: string): void {
    if (this.offset + count > this.bytes.length) this.fail(`needs ${count} bytes at offset ${this.offset}, but the file ends at ${this.bytes.length} (truncated?)`, where);
  }
  u8(where: string): number { this.need(1, where); return this.view.getUint8(this.offset++); }
  u32(where: string): number { this.need(4, where); const v = this.view.getUint32(this.offset, true); this.offset += 4; return v; }
  u64(where: string): number {
    this.need(8, where);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${v} is too large`, where);
    return Number(v);
  }
  string(where: string): string {
    const length = this.u64(where);
    this.need(length, where);
    const text = new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return text;
  }
  scalar(type: number, where: string): GgufReadValue {
    const v = this.view;
    const at = (size: number): number => { this.need(size, where); const o = this.offset; this.offset += size; return o; };
    switch (type) {
      case GGUF_VALUE_TYPE.UINT8: return v.getUint8(at(1));
      case GGUF_VALUE_TYPE.INT8: return v.getInt8(at(1));
      case GGUF_VALUE_TYPE.UINT16: return v.getUint16(at(2), true);
      case GGUF_VALUE_TYPE.INT16: return v.getInt16(at(2), true);
      case GGUF_VALUE_TYPE.UINT32: return v.getUint32(at(4), true);
      case GGUF_VALUE_TYPE.INT32: return v.getInt32(at(4), true);
      case GGUF_VALUE_TYPE.FLOAT32: return v.getFloat32(at(4), true);
      case GGUF_VALUE_TYPE.FLOAT64: return v.getFloat64(at(8), true);
      case GGUF_VALUE_TYPE.BOOL: return v.getUint8(at(1)) !== 0;
      case GGUF_VALUE_TYPE.STRING: return this.string(where);
      case GGUF_VALUE_TYPE.UINT64: { const b = v.getBigUint64(at(8), true); return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b; }
      case GGUF_VALUE_TYPE.INT64: { const b = v.getBigInt64(at(8), true); return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b; }
      default: return this.fail(`unknown value type ${type}`, where);
    }
  }
  value(type: number, where: string): GgufReadValue {
    if (type !== GGUF_VALUE_TYPE.ARRAY) return this.scalar(type, where);
    const itemType = this.u32(where);
    if (itemType === GGUF_VALUE_TYPE.ARRAY) this.fail('nested arrays are not supported', where);
    if (VALUE_TYPE_NAMES[itemType] === undefined) this.fail(`unknown array item type ${itemType}`, where);
    const count = this.u64(where);
    // every item takes at least one byte: a count beyond the bytes left is corrupt, not a huge allocation
    if (count > this.bytes.length - this.offset) this.fail(`array of ${count} items cannot fit in the ${this.bytes.length - this.offset} bytes left`, where);
    const items: GgufReadValue[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = this.scalar(itemType, where);
    return items;
  }
}

/**
 * Parses GGUF bytes; `fileNameForErrors` starts every error message.
 *
 * @example const { metadata } = parseGguf(readFileSync('m.gguf'), 'm.gguf');
 */
export function parseGguf(bytes: Uint8Array, fileNameForErrors = '<gguf bytes>'): ParsedGguf {
  const reader = new ByteReader(bytes, fileNameForErrors);
  const magic = reader.u32('magic');
  if (magic !== GGUF_MAGIC) reader.fail(`expected "GGUF", found ${JSON.stringify(Buffer.from(bytes.subarray(0, 4)).toString('latin1'))} (not a GGUF file)`, 'magic');
  const version = reader.u32('version');
  if (version !== GGUF_VERSION && version !== 2) reader.fail(`version ${version} is not supported (2 or 3)`, 'version');
  const tensorCount = reader.u64('tensor_count');
  const kvCount = reader.u64('metadata_kv_count');
  const metadata = new Map<string, GgufReadValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = reader.string(`metadata key ${i}`);
    const type = reader.u32(`metadata "${key}" type`);
    metadata.set(key, reader.value(type, `metadata "${key}"`));
  }
  const alignmentValue = metadata.get('general.alignment') ?? GGUF_DEFAULT_ALIGNMENT;
  if (typeof alignmentValue !== 'number' || alignmentValue <= 0 || alignmentValue % 8 !== 0) reader.fail(`must be a positive multiple of 8, found ${alignmentValue}`, 'metadata "general.alignment"');
  const alignment = alignmentValue as number;
  const infos: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = reader.string(`tensor info ${i} name`);
    const where = `tensor "${name}"`;
    const nDims = reader.u32(where);
    if (nDims < 1 || nDims > 4) reader.fail(`n_dims ${nDims} is not in 1..4`, where);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(reader.u64(where));
    const typeCode = reader.u32(where);
    const type = TYPE_NAME_BY_CODE.get(typeCode);
    if (type === undefined) reader.fail(`ggml type ${typeCode} is not supported (F32 0, F16 1, Q4_0 2, Q8_0 8)`, where);
    const offset = reader.u64(where);
    if (offset % alignment !== 0) reader.fail(`offset ${offset} is not a multiple of the alignment ${alignment}`, where);
    infos.push({ name, dims, type: type!, offset, sizeBytes: ggmlTensorBytes(type!, dims) });
  }
  const dataStart = alignUp(reader.offset, alignment);
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, GgufTensor>();
  for (const info of infos) {
    if (!Number.isInteger(info.sizeBytes)) reader.fail(`${info.type} needs ne[0] a multiple of its block size, got dims [${info.dims.join(', ')}]`, `tensor "${info.name}"`);
    if (info.offset + info.sizeBytes > dataLength) {
      reader.fail(`data [${info.offset}, ${info.offset + info.sizeBytes}) runs past the end of the ${dataLength}-byte data section (truncated?)`, `tensor "${info.name}"`);
    }
    if (tensors.has(info.name)) reader.fail('appears twice', `tensor "${info.name}"`);
    tensors.set(info.name, { ...info, data: bytes.subarray(dataStart + info.offset, dataStart + info.offset + info.sizeBytes) });
  }
  return { version, metadata, tensors, alignment };
}

/** Reads and validates a GGUF file. */
export function readGguf(path: string): ParsedGguf {
  return parseGguf(readFileSync(path), path);
}
