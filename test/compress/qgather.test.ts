/**
 * Embedding rows gathered from a packed matrix (src/compress/qgather.ts, native quant.cc's
 * `qgather`): equal to the bit to the rows of dequantizeMatrix (the whole matrix dequantised by
 * ggml's rule, ./formats.ts), for every format, repeated ids, the first and last rows, on the
 * native backend and off it; a bad id is a typed error naming it, its position and the matrix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dequantizeMatrix, quantizeMatrix, type QuantFormat } from '../../src/compress/formats.ts';
import { gatherQuantizedRows, gatherQuantizedRowsTypeScript } from '../../src/compress/qgather.ts';
import { currentBackend, setKernelBackend } from '../../src/kernels/index.ts';
import { nativeAddonPath } from '../../src/kernels/native/index.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { randomValues } from './qmatmul-oracle.ts';

const onNative = (() => {
  try {
    return currentBackend().name === 'native';
  } catch {
    return false;
  }
})();

test('gathered rows = the rows of the dequantised matrix, bit for bit, every format, native and TypeScript', () => {
  const N = 37;
  const ids = Int32Array.from([0, 36, 5, 5, 17, 0, 36, 2]);
  for (const format of ['q8_0', 'q4_0', 'q4_g128'] as QuantFormat[]) {
    const K = format === 'q4_g128' ? 256 : 96;
    const w = quantizeMatrix(format, randomValues(N * K, 3, 0.1), N, K);
    const full = dequantizeMatrix(w);
    const expected = new Float32Array(ids.length * K);
    ids.forEach((id, i) => expected.set(full.subarray(id * K, (id + 1) * K), i * K));
    assert.deepEqual(gatherQuantizedRowsTypeScript(w, ids), expected, `${format} TypeScript`);
    assert.deepEqual(gatherQuantizedRows(w, ids), expected, `${format} ${currentBackend().name}`);
    assert.deepEqual(gatherQuantizedRows(w, new Int32Array(0)), new Float32Array(0));
  }
});

test('the native backend runs the addon\'s qgather (a stale build says so)', { skip: onNative ? false : 'not on the native backend' }, () => {
  const addon = createRequire(import.meta.url)(nativeAddonPath()) as { qgather?: unknown };
  assert.equal(typeof addon.qgather, 'function', 'rebuild with `node scripts/build-native.mjs`');
  const before = currentBackend().name;
  const w = quantizeMatrix('q8_0', randomValues(8 * 64, 4), 8, 64);
  const ids = Int32Array.from([7, 1]);
  try {
    setKernelBackend('reference');
    const offNative = gatherQuantizedRows(w, ids);
    setKernelBackend('native');
    assert.deepEqual(gatherQuantizedRows(w, ids), offNative);
  } finally {
    setKernelBackend(before);
  }
});

test('an id out of range is a QkvValueError naming the id, its position and the matrix', () => {
  const w = quantizeMatrix('q4_0', randomValues(4 * 32, 5), 4, 32);
  for (const bad of [4, -1]) {
    assert.throws(() => gatherQuantizedRows(w, Int32Array.from([0, bad])), (e: unknown) => e instanceof QkvValueError && e.message.includes(`id ${bad} at position 1 is out of range for the 4 rows of a q4_0 (4, 32) matrix`));
  }
});

test('the raw native qgather checks its arguments (RangeError naming qgather)', { skip: onNative ? false : 'not on the native backend' }, () => {
  type Raw = (format: number, out: unknown, w: unknown, ids: unknown, N: number, K: number) => void;
  const raw = (createRequire(import.meta.url)(nativeAddonPath()) as { qgather: Raw }).qgather;
  const w = new Uint8Array(4 * 34), out = new Float32Array(2 * 32), ids = Int32Array.from([0, 3]);
  raw(0, out, w, ids, 4, 32);
  const cases: [string, () => void, RegExp][] = [
    ['id too large', () => raw(0, out, w, Int32Array.from([4]), 4, 32), /qgather \(native\): id 4 at position 0 is out of range for 4 rows/],
    ['w too short', () => raw(0, out, w.subarray(1), ids, 4, 32), /qgather \(native\): w needs 136 elements, found 135/],
    ['out too short', () => raw(0, out.subarray(1), w, ids, 4, 32), /out needs 64 elements, found 63/],
    ['ids a Float32Array', () => raw(0, out, w, new Float32Array(2), 4, 32), /ids must be an? Int32Array/],
    ['K not a multiple of 32', () => raw(1, out, w, ids, 4, 48), /q4_0 needs K a positive multiple of 32/],
  ];
  for (const [what, call, message] of cases) assert.throws(call, (e: unknown) => e instanceof RangeError && message.test(e.message), what);
});
