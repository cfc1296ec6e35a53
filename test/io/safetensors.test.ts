import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QkvFormatError } from '../../src/io/errors.ts';
import {
  loadSafetensors,
  loadSafetensorsMetadata,
  parseSafetensors,
  saveSafetensors,
  serializeSafetensors,
  toTensor,
  type SafeTensorInput,
} from '../../src/io/safetensors.ts';
import { QkvError, QkvValueError } from '../../src/tensor/errors.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

// ---- building files by hand, straight from the format description ------------------------------

/** u64 little-endian. */
function u64(value: number): number[] {
  const out = new Array<number>(8).fill(0);
  for (let i = 0; i < 8; i++) out[i] = Math.floor(value / 2 ** (8 * i)) % 256;
  return out;
}
const ascii = (text: string): number[] => [...Buffer.from(text, 'utf8')];
/** float32 little-endian bytes, via DataView (not the code under test). */
function f32le(...values: number[]): number[] {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((value, i) => view.setFloat32(4 * i, value, true));
  return [...new Uint8Array(view.buffer)];
}
function f64le(...values: number[]): number[] {
  const view = new DataView(new ArrayBuffer(8 * values.length));
  values.forEach((value, i) => view.setFloat64(8 * i, value, true));
  return [...new Uint8Array(view.buffer)];
}
/** A file: 8-byte header length, the header text exactly as given, then the data buffer. */
function fileOf(headerText: string, buffer: number[] = []): Uint8Array {
  const header = ascii(headerText);
  return new Uint8Array([...u64(header.length), ...header, ...buffer]);
}

// ---- the format, byte for byte ------------------------------------------------------------------
// The files in the first two tests are also exactly what the reference implementation (the Rust
// `safetensors` crate) produces for the same input, per its own serialization tests.

test('writer: a single F32 tensor, byte for byte as the format prescribes (64-byte header needs no padding)', () => {
  const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assert.equal(header.length, 64);
  const expected = fileOf(header, f32le(0, 1, 2, 3, 4, 5));
  const written = serializeSafetensors({ 'attn.0': Tensor.from([0, 1, 2, 3, 4, 5], [1, 2, 3]) });
  assert.deepEqual([...written], [...expected]);
  // 0x40 = 64, then the JSON, then 1.0f = 00 00 80 3f right after 0.0f
  assert.deepEqual([...written.subarray(0, 8)], [64, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...written.subarray(76, 80)], [0x00, 0x00, 0x80, 0x3f]);
});

test('writer: the header is padded with spaces to a multiple of 8', () => {
  const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}' + '       ';
  assert.equal(header.length, 72);
  const written = serializeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data: [0, 1, 2, 3, 4, 5] } });
  assert.deepEqual([...written], [...fileOf(header, f32le(0, 1, 2, 3, 4, 5))]);

  assert.deepEqual([...serializeSafetensors({})], [...fileOf('{}      ')]);
  assert.deepEqual(
    [...serializeSafetensors({}, { framework: 'pt' })],
    [...fileOf('{"__metadata__":{"framework":"pt"}}     ')],
  );
});

test('writer: metadata first, then tensors widest dtype first and by name within a dtype', () => {
  const written = serializeSafetensors(
    {
      z: { dtype: 'I8', shape: [2], data: [-1, 2] },
      b: Tensor.from([3], [1]),
      a: Tensor.from([1, 2], [2]),
      w: { dtype: 'F64', shape: [], data: [0.5] },
    },
    { format: 'pt' },
  );
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"w":{"dtype":"F64","shape":[],"data_offsets":[0,8]},' +
    '"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
    '"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},' +
    '"z":{"dtype":"I8","shape":[2],"data_offsets":[20,22]}}';
  const padding = ' '.repeat((8 - (header.length % 8)) % 8);
  assert.deepEqual([...written], [...fileOf(header + padding, [...f64le(0.5), ...f32le(1, 2), ...f32le(3), 0xff, 0x02])]);
});

test('reader: a hand-built file with keys out of offset order, odd spacing and an unpadded header', () => {
  const header = ' { "b" : {"dtype":"I16","shape":[2],"data_offsets":[12,16]},\n' +
    ' "__metadata__": {"source": "hand"}, "a": {"data_offsets":[0,12],"shape":[3],"dtype":"F32"} } ';
  const bytes = fileOf(header, [...f32le(1.5, -2, 1e-3), 0x01, 0x00, 0xfe, 0xff]);
  const { tensors, metadata } = parseSafetensors(bytes, 'hand.safetensors');
  assert.deepEqual(metadata, { source: 'hand' });
  assert.deepEqual([...tensors.keys()], ['a', 'b'], 'tensors come in file (offset) order');
  const a = tensors.get('a')!;
  assert.equal(a.dtype, 'F32');
  assert.deepEqual(a.shape, [3]);
  assert.deepEqual([...a.data], [1.5, -2, Math.fround(1e-3)]);
  const b = tensors.get('b')!;
  assert.ok(b.data instanceof Int16Array);
  assert.deepEqual([...b.data], [1, -2]);
});

test('F16 and BF16 bytes: hand-known little-endian bit patterns both ways', () => {
  const written = serializeSafetensors({
    h: { dtype: 'F16', shape: [4], data: [1, -2, 65504, 2 ** -24] },
    g: { dtype: 'BF16', shape: [2], data: [1, Math.PI] },
  });
  const buffer = written.subarray(written.length - 12);
  // BF16 sorts after F16 in the reference dtype order, so it is written first (same width: then by name)
  assert.deepEqual([...buffer], [0x80, 0x3f, 0x49, 0x40, 0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00]);

  const file = fileOf(
    '{"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},"g":{"dtype":"BF16","shape":[1],"data_offsets":[10,12]}}',
    [0x00, 0x3c, 0x00, 0x7c, 0x00, 0xfc, 0x00, 0x7e, 0xff, 0x03, 0x80, 0xbf],
  );
  const { tensors } = parseSafetensors(file, 'half.safetensors');
  const h = tensors.get('h')!;
  assert.ok(h.data instanceof Float32Array, 'F16 widens to Float32Array');
  assert.deepEqual([...h.data.subarray(0, 3)], [1, Infinity, -Infinity]);
  assert.ok(Number.isNaN(h.data[3]));
  assert.equal(h.data[4], 1023 * 2 ** -24);
  assert.deepEqual([...tensors.get('g')!.data], [-1]);
});

// ---- round trips ----------------------------------------------------------------------------------

test('round trip of every dtype, including scalars, empty tensors and 64-bit integers beyond 2^53', () => {
  const inputs: Record<string, SafeTensorInput> = {
    f64: { dtype: 'F64', shape: [2, 2], data: [Math.PI, -1e300, 5e-324, -0] },
    f32: { dtype: 'F32', shape: [3], data: [1.5, -3.25, Math.fround(0.1)] },
    f16: { dtype: 'F16', shape: [3], data: [0.5, -65504, 2 ** -24] },
    bf16: { dtype: 'BF16', shape: [2], data: [3.140625, -(2 ** 100)] },
    i64: { dtype: 'I64', shape: [3], data: [-(2n ** 63n), 2n ** 63n - 1n, -5n] },
    i64FromNumbers: { dtype: 'I64', shape: [2], data: [Number.MAX_SAFE_INTEGER, -7] },
    i32: { dtype: 'I32', shape: [2], data: [-(2 ** 31), 2 ** 31 - 1] },
    i16: { dtype: 'I16', shape: [2], data: [-32768, 32767] },
    i8: { dtype: 'I8', shape: [2], data: [-128, 127] },
    u64: { dtype: 'U64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
    u32: { dtype: 'U32', shape: [1], data: [2 ** 32 - 1] },
    u16: { dtype: 'U16', shape: [1], data: [65535] },
    u8: { dtype: 'U8', shape: [1, 1], data: new Uint8Array([200]) },
    bool: { dtype: 'BOOL', shape: [3], data: [true, false, 1] },
    scalar: { dtype: 'F32', shape: [], data: [7] },
    empty: { dtype: 'F32', shape: [0, 3], data: [] },
  };
  const { tensors, metadata } = parseSafetensors(serializeSafetensors(inputs, { format: 'pt' }), 'round-trip');
  assert.deepEqual(metadata, { format: 'pt' });
  assert.equal(tensors.size, Object.keys(inputs).length);
  const expected: Record<string, { arrayType: string; values: unknown[] }> = {
    f64: { arrayType: 'Float64Array', values: [Math.PI, -1e300, 5e-324, -0] },
    f32: { arrayType: 'Float32Array', values: [1.5, -3.25, Math.fround(0.1)] },
    f16: { arrayType: 'Float32Array', values: [0.5, -65504, 2 ** -24] },
    bf16: { arrayType: 'Float32Array', values: [3.140625, -(2 ** 100)] },
    i64: { arrayType: 'BigInt64Array', values: [-(2n ** 63n), 2n ** 63n - 1n, -5n] },
    i64FromNumbers: { arrayType: 'BigInt64Array', values: [BigInt(Number.MAX_SAFE_INTEGER), -7n] },
    i32: { arrayType: 'Int32Array', values: [-(2 ** 31), 2 ** 31 - 1] },
    i16: { arrayType: 'Int16Array', values: [-32768, 32767] },
    i8: { arrayType: 'Int8Array', values: [-128, 127] },
    u64: { arrayType: 'BigUint64Array', values: [0n, 2n ** 64n - 1n] },
    u32: { arrayType: 'Uint32Array', values: [2 ** 32 - 1] },
    u16: { arrayType: 'Uint16Array', values: [65535] },
    u8: { arrayType: 'Uint8Array', values: [200] },
    bool: { arrayType: 'Uint8Array', values: [1, 0, 1] },
    scalar: { arrayType: 'Float32Array', values: [7] },
    empty: { arrayType: 'Float32Array', values: [] },
  };
  for (const [name, want] of Object.entries(expected)) {
    const entry = tensors.get(name)!;
    const input = inputs[name] as { dtype: string; shape: readonly number[] };
    assert.equal(entry.dtype, input.dtype, `${name}: dtype`);
    assert.deepEqual(entry.shape, input.shape, `${name}: shape`);
    assert.equal(entry.data.constructor.name, want.arrayType, `${name}: array type`);
    assert.deepEqual([...entry.data], want.values, `${name}: values`);
  }
  assert.ok(Object.is(tensors.get('f64')!.data[3], -0));
});

test('Tensors are written as their own dtype, strided views in logical order', () => {
  const matrix = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  const transposed = new Tensor(matrix.data, [3, 2], [1, 3], 0);
  const wide = Tensor.from([0.1, 0.2], [2], { dtype: 'float64' });
  const secondRow = new Tensor(matrix.data, [3], [1], 3);
  const { tensors } = parseSafetensors(serializeSafetensors({ transposed, wide, secondRow }));
  assert.deepEqual([...tensors.get('secondRow')!.data], [4, 5, 6], 'a contiguous view with an offset');
  assert.equal(tensors.get('transposed')!.dtype, 'F32');
  assert.deepEqual([...tensors.get('transposed')!.data], [1, 4, 2, 5, 3, 6]);
  assert.equal(tensors.get('wide')!.dtype, 'F64');
  assert.deepEqual([...tensors.get('wide')!.data], [0.1, 0.2]);

  const back = toTensor(tensors.get('transposed')!, 'transposed');
  assert.deepEqual(back.shape, [3, 2]);
  assert.deepEqual(back.tolist(), [[1, 4], [2, 5], [3, 6]]);
  assert.equal(toTensor(tensors.get('wide')!).dtype, 'float64');
});

test('toTensor: F16/BF16 become float32 Tensors; integer tensors are refused, naming the tensor', () => {
  const { tensors } = parseSafetensors(serializeSafetensors({
    half: { dtype: 'F16', shape: [2], data: [1, 2] },
    ids: { dtype: 'I64', shape: [1], data: [3] },
  }));
  const half = toTensor(tensors.get('half')!);
  assert.equal(half.dtype, 'float32');
  assert.deepEqual(half.toArray(), [1, 2]);
  assert.throws(() => toTensor(tensors.get('ids')!, 'ids'), (error: unknown) =>
    error instanceof QkvValueError && /"ids" has dtype I64/.test(error.message));
});

test('any name round-trips: unicode, dots, and "__proto__"', () => {
  const names = ['h.0.attn.c_attn.weight', 'é', '__proto__', ''];
  const inputs = new Map(names.map((name, i) => [name, Tensor.from([i], [1])] as const));
  const { tensors } = parseSafetensors(serializeSafetensors(inputs));
  assert.deepEqual([...tensors.keys()].sort(), [...names].sort());
  names.forEach((name, i) => assert.deepEqual([...tensors.get(name)!.data], [i], name));
});

test('a parsed tensor does not alias the input bytes', () => {
  const bytes = serializeSafetensors({ w: Tensor.from([1, 2]) });
  const { tensors } = parseSafetensors(bytes);
  bytes.fill(0, bytes.length - 8);
  assert.deepEqual([...tensors.get('w')!.data], [1, 2]);
  // a Node Buffer (whose slice() is a view, not a copy) lying inside a larger allocation
  const file = serializeSafetensors({ w: Tensor.from([3, 4]), u: { dtype: 'U8', shape: [1], data: [9] } });
  const inner = Buffer.alloc(file.length + 13).subarray(5, 5 + file.length);
  inner.set(file);
  const fromBuffer = parseSafetensors(inner);
  assert.deepEqual([...fromBuffer.tensors.get('w')!.data], [3, 4]);
  assert.deepEqual([...fromBuffer.tensors.get('u')!.data], [9]);
  assert.equal(fromBuffer.tensors.get('u')!.data.buffer.byteLength, 1, 'owns exactly its bytes');
});

test('saveSafetensors / loadSafetensors go through a file atomically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-safetensors-'));
  try {
    const path = join(dir, 'model.safetensors');
    saveSafetensors(path, new Map([['w', Tensor.from([1, 2, 3], [3])]]), { format: 'pt' });
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);
    const loaded = loadSafetensors(path);
    assert.deepEqual([...loaded.tensors.get('w')!.data], [1, 2, 3]);
    assert.deepEqual(loaded.metadata, { format: 'pt' });
    // a failing save (bad input) leaves the previous file as it was
    assert.throws(() => saveSafetensors(path, { w: { dtype: 'U8', shape: [1], data: [256] } }), (error: unknown) =>
      error instanceof QkvValueError && error.message.startsWith(`${path}: tensor "w": element 0 is 256`));
    assert.deepEqual([...loadSafetensors(path).tensors.get('w')!.data], [1, 2, 3]);
    assert.deepEqual(loadSafetensorsMetadata(path), { format: 'pt' }, 'metadata alone, from the header');
    saveSafetensors(path, { w: Tensor.from([1]) });
    assert.deepEqual(loadSafetensorsMetadata(path), {});
    saveSafetensors(path, new Map([['w', Tensor.from([1, 2, 3], [3])]]), { format: 'pt' });
    // errors from a file on disk name its path
    writeFileSync(path, readFileSync(path).subarray(0, 40));
    assert.throws(() => loadSafetensors(path), (error: unknown) => error instanceof QkvFormatError && error.message.startsWith(`${path}: `));
    writeFileSync(path, readFileSync(path).subarray(0, 20));
    assert.throws(() => loadSafetensorsMetadata(path), (error: unknown) =>
      error instanceof QkvFormatError && error.message.startsWith(`${path}: header length: `) && /truncated/.test(error.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- rejections -----------------------------------------------------------------------------------

/** Asserts a QkvFormatError whose message names the file and matches every pattern. */
function assertRejected(bytes: Uint8Array, ...patterns: RegExp[]): void {
  assert.throws(() => parseSafetensors(bytes, 'bad.safetensors'), (error: unknown) => {
    assert.ok(error instanceof QkvFormatError, `expected a QkvFormatError, got ${String(error)}`);
    assert.ok(error instanceof QkvError);
    assert.match(error.message, /^bad\.safetensors: /);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

const goodHeader = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';

test('rejects truncated files: in the length, in the header, in the data', () => {
  const good = serializeSafetensors({ w: Tensor.from([1, 2]), v: Tensor.from([3]) });
  assertRejected(good.subarray(0, 5), /header length/, /5 bytes, too short/);
  assertRejected(good.subarray(0, 30), /header length/, /only 22 bytes follow/, /truncated/);
  assertRejected(good.subarray(0, good.length - 2), /tensor "w"/, /run past the end of the 10-byte data buffer/, /truncated/);
});

test('rejects a header length beyond the 100 MB bound, even in a huge u64', () => {
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 63n + 5n, true);
  assertRejected(huge, /header length/, /100000000-byte limit/);
  const justOver = new Uint8Array(16);
  new DataView(justOver.buffer).setBigUint64(0, 100_000_001n, true);
  assertRejected(justOver, /header length/, /limit/);
});

test('rejects a header that is not UTF-8, not JSON, or not an object', () => {
  assertRejected(new Uint8Array([...u64(2), 0xff, 0xfe]), /header: is not valid UTF-8/);
  assertRejected(fileOf('{"w":{"dtype":'), /header: is not valid JSON/);
  assertRejected(fileOf('[1,2]   '), /header: must be a JSON object, found \[1,2\]/);
  assertRejected(fileOf('{"w":[0,8]}', f32le(1, 2)), /tensor "w": expected an object with dtype, shape and data_offsets/);
});

test('rejects unknown and unsupported dtypes, naming the tensor', () => {
  assertRejected(fileOf('{"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}', f32le(1, 2)), /tensor "w": unknown dtype "F17"; expected one of/);
  assertRejected(fileOf('{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}', [0, 0]), /tensor "w": dtype F8_E4M3 is valid safetensors but qkv does not read it/);
  assertRejected(fileOf('{"w":{"shape":[2],"data_offsets":[0,8]}}', f32le(1, 2)), /tensor "w": dtype must be a string, found nothing/);
});

test('rejects bad shapes and bad data_offsets, naming the tensor', () => {
  const withEntry = (entry: string, buffer = f32le(1, 2)): Uint8Array => fileOf(`{"w":${entry}}`, buffer);
  assertRejected(withEntry('{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}'), /tensor "w": shape must be a list of non-negative integers, found \[-2\]/);
  assertRejected(withEntry('{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}'), /tensor "w": shape/);
  assertRejected(withEntry('{"dtype":"F32","shape":"2","data_offsets":[0,8]}'), /tensor "w": shape/);
  assertRejected(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[0]}'), /tensor "w": data_offsets must be \[begin, end\]/);
  assertRejected(withEntry('{"dtype":"F32","shape":[2],"data_offsets":[8,0]}'), /tensor "w": data_offsets \[8,0\] end before they begin/);
});

test('rejects shape × dtype size != byte length', () => {
  assertRejected(
    fileOf('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32le(1, 2)),
    /tensor "w": data_offsets \[0,8\] hold 8 bytes, but shape \(3\) of F32 needs 12/,
  );
  assertRejected(
    fileOf('{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}', f32le(1, 2)),
    /tensor "w".*needs 16/,
  );
});

test('rejects overlapping offsets, gaps and trailing bytes', () => {
  assertRejected(
    fileOf('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', f32le(1, 2, 3)),
    /tensor "b": data_offsets \[4,12\] overlap those of tensor "a" \[0,8\]/,
  );
  assertRejected(
    fileOf('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', f32le(1, 2, 3)),
    /tensor "b": data_offsets \[8,12\] leave bytes 4\.\.8 of the data buffer unused/,
  );
  assertRejected(fileOf(goodHeader, [...f32le(1, 2), 0, 0]), /data buffer: the tensors cover 8 bytes but the data buffer has 10/);
  assertRejected(fileOf('{}', [0]), /1 trailing bytes belong to no tensor/);
});

test('rejects metadata that is not string to string', () => {
  assertRejected(fileOf('{"__metadata__":{"step":3}}'), /__metadata__\["step"\]: values must be strings, found 3/);
  assertRejected(fileOf('{"__metadata__":"pt"}'), /__metadata__: expected an object of strings/);
  assert.deepEqual(parseSafetensors(fileOf('{"__metadata__":null}')).metadata, {}, 'null metadata is no metadata');
});

test('the writer refuses inputs it cannot write faithfully, naming the tensor', () => {
  const refuses = (inputs: Record<string, SafeTensorInput>, pattern: RegExp, metadata?: Record<string, string>): void => {
    assert.throws(() => serializeSafetensors(inputs, metadata), (error: unknown) => error instanceof QkvValueError && pattern.test(error.message));
  };
  refuses({ w: { dtype: 'F32', shape: [2, 2], data: [1, 2, 3] } }, /^<safetensors>: tensor "w": 3 values cannot have shape \(2,2\)/);
  refuses({ w: { dtype: 'I64', shape: [1], data: [2n ** 63n] } }, /tensor "w": element 0 is 9223372036854775808n, outside \[-9223372036854775808, 9223372036854775807\]/);
  refuses({ w: { dtype: 'U64', shape: [2], data: [1n, -1n] } }, /tensor "w": element 1 is -1n, outside/);
  refuses({ w: { dtype: 'I8', shape: [1], data: [128] } }, /tensor "w": element 0 is 128, not an integer in \[-128, 127\]/);
  refuses({ w: { dtype: 'I32', shape: [1], data: [1.5] } }, /tensor "w": element 0 is 1.5/);
  refuses({ w: { dtype: 'I64', shape: [1], data: [2 ** 60] } }, /tensor "w": element 0/);
  refuses({ w: { dtype: 'BOOL', shape: [1], data: [2] } }, /tensor "w": element 0 is 2, not a boolean/);
  refuses({ w: { dtype: 'F32', shape: [-1], data: [] } }, /tensor "w": shape \[-1\]/);
  refuses({ w: { dtype: 'Q4' as 'F32', shape: [1], data: [1] } }, /tensor "w": unknown dtype Q4/);
  refuses({ __metadata__: Tensor.from([1]) }, /"__metadata__" is reserved/);
  refuses({}, /__metadata__\["step"\] is a number/, { step: 3 as unknown as string });
});
