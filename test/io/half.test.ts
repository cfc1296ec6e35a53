import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fromBfloat16Bits,
  decodeBfloat16,
  decodeFloat16,
  encodeBfloat16,
  encodeFloat16,
  fromFloat16Bits,
  toBfloat16Bits,
  toFloat16Bits,
} from '../../src/io/half.ts';

const hex = (bits: number): string => `0x${bits.toString(16).padStart(4, '0')}`;

function assertBits(actual: number, expected: number, what: string): void {
  assert.equal(hex(actual), hex(expected), what);
}

test('float16: hand-known bit patterns', () => {
  const cases: Array<[number, number, string]> = [
    [1, 0x3c00, '1'],
    [-2, 0xc000, '-2'],
    [0.5, 0x3800, '0.5'],
    [0.1, 0x2e66, '0.1 (nearest)'],
    [1 / 3, 0x3555, '1/3 (nearest)'],
    [65504, 0x7bff, 'largest finite'],
    [65519.99, 0x7bff, 'just below the overflow tie stays finite'],
    [65520, 0x7c00, 'the overflow tie rounds (to even) to Infinity'],
    [1e6, 0x7c00, 'overflow'],
    [Infinity, 0x7c00, '+Inf'],
    [-Infinity, 0xfc00, '-Inf'],
    [Number.NaN, 0x7e00, 'NaN: canonical quiet NaN'],
    [0, 0x0000, '+0'],
    [-0, 0x8000, '-0 keeps its sign'],
    [2 ** -14, 0x0400, 'smallest normal'],
    [2 ** -24, 0x0001, 'smallest subnormal'],
    [1023 * 2 ** -24, 0x03ff, 'largest subnormal'],
    [2 ** -25, 0x0000, 'half the smallest subnormal: tie to even (0)'],
    [1.5 * 2 ** -25, 0x0001, 'above the tie rounds up'],
    [3 * 2 ** -25, 0x0002, 'tie between 1 and 2 subnormal units goes to even (2)'],
    [2 ** -30, 0x0000, 'underflow'],
    [-(2 ** -30), 0x8000, 'underflow keeps the sign'],
    [1 + 2 ** -11, 0x3c00, 'tie goes to the even mantissa (down)'],
    [1 + 3 * 2 ** -11, 0x3c02, 'tie goes to the even mantissa (up)'],
    [1 + 2 ** -11 + 2 ** -40, 0x3c01, 'just above a tie: rounded once from float64, not twice via float32'],
    // spacing is 1 in [1024, 2048): the tie 2047.5 goes to the even 2048, carrying into the exponent
    [2047.5, 0x6800, 'tie at a binade edge'],
  ];
  for (const [value, bits, what] of cases) assertBits(toFloat16Bits(value), bits, `${what}: ${value}`);
});

test('float16: decoding hand-known bit patterns', () => {
  assert.equal(fromFloat16Bits(0x3c00), 1);
  assert.equal(fromFloat16Bits(0xc000), -2);
  assert.equal(fromFloat16Bits(0x7bff), 65504);
  assert.equal(fromFloat16Bits(0x3555), 0.333251953125);
  assert.equal(fromFloat16Bits(0x0001), 2 ** -24);
  assert.equal(fromFloat16Bits(0x03ff), 1023 * 2 ** -24);
  assert.equal(fromFloat16Bits(0x0400), 2 ** -14);
  assert.equal(fromFloat16Bits(0x7c00), Infinity);
  assert.equal(fromFloat16Bits(0xfc00), -Infinity);
  assert.ok(Number.isNaN(fromFloat16Bits(0x7e00)));
  assert.ok(Number.isNaN(fromFloat16Bits(0xfc01)));
  assert.ok(Object.is(fromFloat16Bits(0x8000), -0));
});

test('float16: every bit pattern round-trips, and every midpoint between neighbours rounds to the even one', () => {
  const all = new Uint16Array(65536).map((_, bits) => bits);
  const decoded = decodeFloat16(all);
  const reencoded = encodeFloat16(decoded);
  for (let bits = 0; bits < 65536; bits++) {
    if (Number.isNaN(decoded[bits])) {
      assert.equal((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0, true, `${hex(bits)} decodes to NaN`);
      continue;
    }
    assert.equal(decoded[bits], fromFloat16Bits(bits));
    if (reencoded[bits] !== bits) assert.fail(`${hex(bits)} -> ${decoded[bits]} -> ${hex(reencoded[bits])}`);
  }
  // Positive finite neighbours (b, b+1); the negative side mirrors through the sign bit.
  for (let bits = 0; bits < 0x7bff; bits++) {
    const low = fromFloat16Bits(bits);
    const high = fromFloat16Bits(bits + 1);
    const midpoint = (low + high) / 2; // exact in float64
    const even = bits % 2 === 0 ? bits : bits + 1;
    const nudge = (high - low) * 2 ** -20;
    if (toFloat16Bits(midpoint) !== even) assert.fail(`midpoint of ${hex(bits)} and ${hex(bits + 1)} should round to ${hex(even)}`);
    if (toFloat16Bits(midpoint - nudge) !== bits) assert.fail(`just below the midpoint above ${hex(bits)}`);
    if (toFloat16Bits(midpoint + nudge) !== bits + 1) assert.fail(`just above the midpoint below ${hex(bits + 1)}`);
    if (toFloat16Bits(-midpoint) !== (even | 0x8000)) assert.fail(`negative midpoint of ${hex(bits)}`);
  }
});

test('bfloat16: hand-known bit patterns, both ways', () => {
  const cases: Array<[number, number, string]> = [
    [1, 0x3f80, '1'],
    [-1, 0xbf80, '-1'],
    [Math.PI, 0x4049, 'pi -> 3.140625'],
    [1 + 2 ** -8, 0x3f80, 'tie goes to even (down)'],
    [1 + 3 * 2 ** -8, 0x3f82, 'tie goes to even (up)'],
    [3.3895313892515355e38, 0x7f7f, 'largest finite bfloat16'],
    [3.4028234663852886e38, 0x7f80, 'largest float32 rounds up to Infinity'],
    [Infinity, 0x7f80, '+Inf'],
    [-Infinity, 0xff80, '-Inf'],
    [Number.NaN, 0x7fc0, 'NaN: canonical quiet NaN'],
    [-0, 0x8000, '-0'],
    [2 ** -126, 0x0080, 'smallest normal'],
    [2 ** -133, 0x0001, 'smallest subnormal'],
    [2 ** -134, 0x0000, 'half the smallest subnormal: tie to even (0)'],
  ];
  for (const [value, bits, what] of cases) assertBits(toBfloat16Bits(value), bits, `${what}: ${value}`);
  assert.equal(fromBfloat16Bits(0x3f80), 1);
  assert.equal(fromBfloat16Bits(0x4049), 3.140625);
  assert.equal(fromBfloat16Bits(0x0001), 2 ** -133);
  assert.equal(fromBfloat16Bits(0xff80), -Infinity);
  assert.ok(Number.isNaN(fromBfloat16Bits(0x7fc0)));
});

test('bfloat16: agrees with the float32 bit trick (round half to even on the low 16 bits) and round-trips every pattern', () => {
  // For float32 inputs RNE to bfloat16 is: (u + 0x7fff + ((u >> 16) & 1)) >> 16.
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  let state = 12345;
  for (let i = 0; i < 20000; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    u32[0] = state;
    if (Number.isNaN(f32[0])) continue;
    const expected = Math.floor((u32[0] + 0x7fff + ((u32[0] >>> 16) & 1)) / 65536);
    if (toBfloat16Bits(f32[0]) !== expected) assert.fail(`float32 bits 0x${u32[0].toString(16)}: expected ${hex(expected)}`);
  }
  const all = new Uint16Array(65536).map((_, bits) => bits);
  const decoded = decodeBfloat16(all);
  const reencoded = encodeBfloat16(decoded);
  for (let bits = 0; bits < 65536; bits++) {
    if (Number.isNaN(decoded[bits])) continue;
    if (reencoded[bits] !== bits) assert.fail(`${hex(bits)} -> ${decoded[bits]} -> ${hex(reencoded[bits])}`);
  }
});
