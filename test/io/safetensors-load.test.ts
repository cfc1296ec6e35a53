import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBfloat16Bits, fromFloat16Bits } from '../../src/io/half.ts';
import { loadSafetensorsInto, readSafetensorsIndex } from '../../src/io/safetensors-load.ts';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors.ts';
import { QkvFormatError } from '../../src/io/errors.ts';
import { QkvStateDictError } from '../../src/tensor/errors.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const dir = mkdtempSync(join(tmpdir(), 'qkv-safetensors-load-'));

interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * A safetensors file built by hand from the format's description (independent of qkv's writer):
 * 8-byte little-endian header length, JSON header, tensors back to back in the given order.
 * The header is padded with spaces so the data buffer starts at `dataStartModulo8` modulo 8
 * (0, as the reference writer does; anything else makes the data unaligned).
 */
function writeRaw(file: string, tensors: RawTensor[], dataStartModulo8 = 0): string {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((dataStartModulo8 - ((8 + json.length) % 8) + 8) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  const path = join(dir, file);
  writeFileSync(path, out);
  return path;
}

const bytesOf = (array: ArrayBufferView): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
const bitsOf = (array: Float32Array): Uint32Array => new Uint32Array(array.buffer, array.byteOffset, array.length);

/** Float32 bit patterns worth loading: ±0, ±Inf, NaNs with payloads, subnormals, the extremes, and a spread. */
function specialFloat32Bits(count: number): Uint32Array {
  const bits = new Uint32Array(count);
  const special = [0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffa5a5a5, 0x00000001, 0x807fffff, 0x7f7fffff, 0x3f800000];
  let state = 7;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bits[i] = i < special.length ? special[i] : state;
  }
  return bits;
}

test('F32 and F64 go into the targets bit for bit, into their own storage', () => {
  const a = specialFloat32Bits(6 * 7);
  const b = new Float64Array([Math.PI, -0, Number.MIN_VALUE, -Infinity, 1e308]);
  const path = writeRaw('plain.safetensors', [
    { name: 'a', dtype: 'F32', shape: [6, 7], bytes: bytesOf(a) },
    { name: 'b', dtype: 'F64', shape: [5], bytes: bytesOf(b) },
  ]);
  const targetA = Tensor.zeros([6, 7]);
  const targetB = Tensor.zeros([5], { dtype: 'float64' });
  const storageA = targetA.data;
  const result = loadSafetensorsInto(path, new Map([['a', targetA], ['b', targetB]]));
  assert.equal(targetA.data, storageA, 'the target keeps its storage');
  assert.deepEqual([...bitsOf(targetA.data as Float32Array)], [...a]);
  assert.deepEqual([...bytesOf(targetB.data)], [...bytesOf(b)]);
  assert.deepEqual(result.skipped, []);
});

test('F16 and BF16 widen exactly as half.ts decodes every one of the 65536 patterns, whole or in odd chunks', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const path = writeRaw('half.safetensors', [
    { name: 'h', dtype: 'F16', shape: [256, 256], bytes: bytesOf(all) },
    { name: 'bf', dtype: 'BF16', shape: [65536], bytes: bytesOf(all) },
  ]);
  for (const chunkBytes of [undefined, 1002]) {
    const h = Tensor.zeros([256, 256]);
    const bf = Tensor.zeros([65536]);
    loadSafetensorsInto(path, new Map([['h', h], ['bf', bf]]), { chunkBytes });
    const hv = h.data as Float32Array;
    const hBits = bitsOf(hv);
    const bfBits = bitsOf(bf.data as Float32Array);
    for (let i = 0; i < 65536; i++) {
      const reference = fromFloat16Bits(i);
      if (Number.isNaN(reference)) {
        // NaN keeps sign and payload: sign | all-ones exponent | mantissa << 13 (as vcvtph2ps widens).
        const expected = (((i & 0x8000) << 16) | 0x7f800000 | ((i & 0x3ff) << 13)) >>> 0;
        if (hBits[i] !== expected) assert.fail(`F16 NaN 0x${i.toString(16)} widened to 0x${hBits[i].toString(16)}`);
      } else if (!Object.is(hv[i], reference)) {
        assert.fail(`F16 0x${i.toString(16)}: got ${hv[i]}, reference ${reference} (chunkBytes ${chunkBytes})`);
      }
      if (bfBits[i] !== (i << 16) >>> 0) assert.fail(`BF16 0x${i.toString(16)} widened to 0x${bfBits[i].toString(16)}`);
      if (!Number.isNaN(fromBfloat16Bits(i)) && !Object.is((bf.data as Float32Array)[i], fromBfloat16Bits(i))) assert.fail(`BF16 0x${i.toString(16)}`);
    }
  }
  // Into float64 targets, through the chunked path.
  const h64 = Tensor.zeros([256, 256], { dtype: 'float64' });
  const bf64 = Tensor.zeros([65536], { dtype: 'float64' });
  loadSafetensorsInto(path, new Map([['h', h64], ['bf', bf64]]), { chunkBytes: 998 });
  for (const i of [0x0000, 0x8000, 0x0001, 0x03ff, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x3555]) {
    assert.ok(Object.is(h64.data[i], fromFloat16Bits(i)), `F16 0x${i.toString(16)} into float64`);
    assert.ok(Object.is(bf64.data[i], fromBfloat16Bits(i)), `BF16 0x${i.toString(16)} into float64`);
  }
  assert.ok(Number.isNaN(h64.data[0x7e00]) && Number.isNaN(bf64.data[0x7fc1]));
});

test('F32 into a float64 target and F64 into a float32 one convert as a cast does', () => {
  const f32 = new Float32Array([0.1, -3.5, 1e-40]);
  const f64 = new Float64Array([0.1, 1 + 2 ** -30, 1e300]);
  const path = writeRaw('cast.safetensors', [
    { name: 'f32', dtype: 'F32', shape: [3], bytes: bytesOf(f32) },
    { name: 'f64', dtype: 'F64', shape: [3], bytes: bytesOf(f64) },
  ]);
  const wide = Tensor.zeros([3], { dtype: 'float64' });
  const narrow = Tensor.zeros([3]);
  loadSafetensorsInto(path, new Map([['f32', wide], ['f64', narrow]]), { chunkBytes: 8 });
  assert.deepEqual([...wide.data], [...f32]);
  assert.deepEqual([...narrow.data], [...Float32Array.from(f64)]);
  assert.equal(narrow.data[2], Infinity);
});

test('missing, unexpected and wrongly shaped names are reported at once, and nothing is written', () => {
  const path = join(dir, 'names.safetensors');
  saveSafetensors(path, { 'h.0.w': Tensor.ones([2, 3]), 'h.0.b': Tensor.ones([3]), extra: Tensor.ones([1]), 'lm_head.weight': Tensor.ones([2]) });
  const w = Tensor.zeros([3, 2]);
  const missing = Tensor.zeros([4]);
  const rename = (name: string) => (name === 'lm_head.weight' ? null : name);
  assert.throws(
    () => loadSafetensorsInto(path, new Map([['h.0.w', w], ['h.0.b', Tensor.zeros([3])], ['absent', missing]]), { rename }),
    (error: unknown) =>
      error instanceof QkvStateDictError &&
      /names\.safetensors: missing keys: absent; unexpected keys: extra; shape mismatch: h\.0\.w expected \(3,2\) got \(2,3\)$/.test(error.message),
  );
  assert.ok(w.data.every((v) => v === 0), 'nothing was written');
  const b = Tensor.zeros([3]);
  const { skipped } = loadSafetensorsInto(path, new Map([['h.0.w', Tensor.zeros([2, 3])], ['h.0.b', b], ['extra', Tensor.zeros([1])]]), { rename });
  assert.deepEqual(skipped, ['lm_head.weight']);
  assert.deepEqual([...b.data], [1, 1, 1]);
  assert.deepEqual(readSafetensorsIndex(path).entries.map((e) => e.name).sort(), ['extra', 'h.0.b', 'h.0.w', 'lm_head.weight']);
});

test('integer tensors and truncated files are refused, naming the file and tensor', () => {
  const path = writeRaw('ints.safetensors', [{ name: 'ids', dtype: 'I32', shape: [2], bytes: bytesOf(new Int32Array([1, 2])) }]);
  assert.throws(() => loadSafetensorsInto(path, new Map([['ids', Tensor.zeros([2])]])), /ids has dtype I32; a float tensor/);
  const whole = writeRaw('whole.safetensors', [{ name: 'x', dtype: 'F32', shape: [4], bytes: bytesOf(new Float32Array(4)) }]);
  const truncated = join(dir, 'truncated.safetensors');
  const bytes = readFileSync(whole);
  writeFileSync(truncated, bytes.subarray(0, bytes.length - 3));
  assert.throws(() => loadSafetensorsInto(truncated, new Map([['x', Tensor.zeros([4])]])), (error: unknown) => error instanceof QkvFormatError && /truncated\.safetensors/.test(String(error)));
});

test('loadSafetensors views an aligned file (one buffer, no copies) and copies out of an unaligned one', () => {
  const values = Float32Array.from({ length: 12 }, (_, i) => i / 7);
  const aligned = join(dir, 'aligned.safetensors');
  saveSafetensors(aligned, { a: new Tensor(values, [3, 4]), b: new Tensor(values.slice(0, 5), [5]), c: { dtype: 'F64', shape: [2], data: [1.5, -2] } });
  const { tensors } = loadSafetensors(aligned);
  const a = tensors.get('a')!.data as Float32Array;
  const b = tensors.get('b')!.data as Float32Array;
  assert.equal(a.buffer, b.buffer, 'views into the one file buffer');
  assert.deepEqual([...a], [...values]);
  assert.deepEqual([...tensors.get('c')!.data], [1.5, -2]);

  // Header length 8k + 3: the data buffer starts at an odd byte, so the F32 values must be copied out.
  const unaligned = writeRaw('unaligned.safetensors', [{ name: 'x', dtype: 'F32', shape: [12], bytes: bytesOf(values) }], 3);
  const x = loadSafetensors(unaligned).tensors.get('x')!.data as Float32Array;
  assert.equal(x.byteOffset % 4, 0);
  assert.deepEqual([...x], [...values]);
});
