/**
 * 16-bit floats, as stored in safetensors files: IEEE 754 binary16 (`F16`: 1 sign, 5 exponent,
 * 10 mantissa bits) and bfloat16 (`BF16`: 1 sign, 8 exponent, 7 mantissa bits — float32 with the
 * low 16 bits cut off).
 *
 * Encoding rounds to nearest, ties to even, directly from the JavaScript number (a float64),
 * once. Going through float32 first would round twice, and 1 + 2⁻¹¹ + 2⁻⁴⁰ would land on the
 * float16 tie and go down instead of up. Overflow gives ±Infinity (as a cast does in PyTorch and
 * NumPy), underflow gives subnormals and then ±0, NaN gives the canonical quiet NaN.
 * Decoding is exact: every 16-bit value is a float32.
 */
import { QkvValueError } from '../tensor/errors.ts';

interface HalfFormat {
  /** Stored mantissa bits (the leading 1 of normal numbers is implicit). */
  mantissaBits: number;
  exponentBits: number;
  /** Exponent bias: 15 for binary16, 127 for bfloat16. */
  bias: number;
  /** Canonical quiet NaN: exponent all ones, top mantissa bit set. */
  quietNaN: number;
}

const FLOAT16: HalfFormat = { mantissaBits: 10, exponentBits: 5, bias: 15, quietNaN: 0x7e00 };
const BFLOAT16: HalfFormat = { mantissaBits: 7, exponentBits: 8, bias: 127, quietNaN: 0x7fc0 };

const scratchFloat = new Float64Array(1);
const scratchWords = new Uint32Array(scratchFloat.buffer);
/** Index of the word holding sign, exponent and top mantissa bits of a float64 on this host. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HIGH_WORD = LITTLE_ENDIAN ? 1 : 0;

/** floor(log2(a)) for a positive normal float64, read from its exponent field (exact, unlike Math.log2). */
function binaryExponent(a: number): number {
  scratchFloat[0] = a;
  return ((scratchWords[HIGH_WORD] >>> 20) & 0x7ff) - 1023;
}

/** 2^k for -1024 ≤ k ≤ 1023, from a table: `2 ** k` costs more than all the rest of an encode. */
const POWERS_OF_TWO_OFFSET = 1024;
const POWERS_OF_TWO = Float64Array.from({ length: 2048 }, (_, i) => 2 ** (i - POWERS_OF_TWO_OFFSET));
function powerOfTwo(k: number): number {
  return POWERS_OF_TWO[k + POWERS_OF_TWO_OFFSET];
}

const MIN_NORMAL_FLOAT64 = 2 ** -1022;

function encodeHalf(value: number, format: HalfFormat): number {
  const { mantissaBits, exponentBits, bias } = format;
  if (Number.isNaN(value)) return format.quietNaN;
  const signBit = value < 0 || Object.is(value, -0) ? 1 << (mantissaBits + exponentBits) : 0;
  const magnitude = Math.abs(value);
  const infinity = signBit | (((1 << exponentBits) - 1) << mantissaBits);
  if (magnitude === Infinity) return infinity;
  // float64 subnormals (< 2⁻¹⁰²²) are far below half the smallest 16-bit subnormal: they round to ±0.
  if (magnitude < MIN_NORMAL_FLOAT64) return signBit;

  const minExponent = 1 - bias;
  const maxExponent = bias;
  // Below the normal range the spacing stays that of the smallest normal binade: subnormals.
  let exponent = Math.max(binaryExponent(magnitude), minExponent);
  const scaled = magnitude * powerOfTwo(mantissaBits - exponent); // exact: scaling by a power of two
  let significand = Math.floor(scaled);
  const remainder = scaled - significand; // exact
  if (remainder > 0.5 || (remainder === 0.5 && significand % 2 === 1)) significand++;
  const hidden = 1 << mantissaBits;
  if (significand === 2 * hidden) {
    // rounding carried into the next binade (…111 + 1)
    significand = hidden;
    exponent++;
  }
  if (exponent > maxExponent) return infinity;
  if (significand < hidden) return signBit | significand; // subnormal (or zero): biased exponent 0
  return signBit | ((exponent + bias) << mantissaBits) | (significand - hidden);
}

/** The binary16 bit pattern nearest to `value` (ties to even). `toFloat16Bits(1) === 0x3c00`. */
export function toFloat16Bits(value: number): number {
  return encodeHalf(value, FLOAT16);
}

/** The bfloat16 bit pattern nearest to `value` (ties to even). `toBfloat16Bits(1) === 0x3f80`. */
export function toBfloat16Bits(value: number): number {
  return encodeHalf(value, BFLOAT16);
}

/** The value of a binary16 bit pattern. `fromFloat16Bits(0x7bff) === 65504`. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** The value of a bfloat16 bit pattern. `fromBfloat16Bits(0x3f80) === 1`. */
export function fromBfloat16Bits(bits: number): number {
  return new Float32Array(new Uint32Array([(bits & 0xffff) << 16]).buffer)[0];
}

/**
 * The float32 bit pattern of every binary16 pattern (256 KiB, built on first use), so widening a
 * tensor is one lookup and one 32-bit store per element. Stored as bits, not floats: a float
 * round trip through a JavaScript number may canonicalise NaN payloads, and widening, as the
 * hardware's vcvtph2ps does, keeps sign and payload (mantissa << 13).
 */
let float16Table: Uint32Array | undefined;

function float16BitsTable(): Uint32Array {
  if (float16Table === undefined) {
    float16Table = new Uint32Array(65536);
    const asFloat = new Float32Array(float16Table.buffer);
    for (let bits = 0; bits < 65536; bits++) {
      const isNaN = (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
      if (isNaN) float16Table[bits] = ((bits & 0x8000) << 16) | 0x7f800000 | ((bits & 0x3ff) << 13);
      else asFloat[bits] = fromFloat16Bits(bits); // exact: every binary16 value is a float32
    }
  }
  return float16Table;
}

/** Element-wise {@link toFloat16Bits}. */
export function encodeFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = encodeHalf(values[i], FLOAT16);
  return out;
}

/** Element-wise {@link toBfloat16Bits}. */
export function encodeBfloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = encodeHalf(values[i], BFLOAT16);
  return out;
}

/**
 * Widens binary16 patterns into `out` (same length), exactly; returns `out`. NaNs keep their sign
 * and payload. One table lookup per element, written as 32-bit words.
 *
 * @example decodeFloat16Into(new Uint16Array([0x3c00, 0xfc00]), new Float32Array(2)) // [1, -Infinity]
 */
export function decodeFloat16Into(bits: Uint16Array, out: Float32Array): Float32Array {
  checkSameLength('decodeFloat16Into', bits, out);
  const table = float16BitsTable();
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) words[i] = table[bits[i]];
  return out;
}

/**
 * Widens bfloat16 patterns into `out` (same length): each becomes the top half of a float32,
 * NaN payloads included; returns `out`. Two elements per 32-bit load where the input is aligned.
 *
 * @example decodeBfloat16Into(new Uint16Array([0x3f80]), new Float32Array(1)) // [1]
 */
export function decodeBfloat16Into(bits: Uint16Array, out: Float32Array): Float32Array {
  checkSameLength('decodeBfloat16Into', bits, out);
  const words = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const n = bits.length;
  let i = 0;
  if (bits.byteOffset % 4 === 0 && LITTLE_ENDIAN) {
    // A 32-bit word holds elements 2j (low half) and 2j + 1 (high half) on a little-endian host.
    const pairs = new Uint32Array(bits.buffer, bits.byteOffset, n >>> 1);
    for (let j = 0; j < pairs.length; j++) {
      const pair = pairs[j];
      words[2 * j] = pair << 16;
      words[2 * j + 1] = pair & 0xffff0000;
    }
    i = pairs.length * 2;
  }
  for (; i < n; i++) words[i] = bits[i] << 16;
  return out;
}

/** Element-wise {@link fromFloat16Bits} into a new Float32Array (NaN payloads kept, see {@link decodeFloat16Into}). */
export function decodeFloat16(bits: Uint16Array): Float32Array {
  return decodeFloat16Into(bits, new Float32Array(bits.length));
}

/** Element-wise {@link fromBfloat16Bits} into a new Float32Array: the bits become the top half of a float32, NaN payloads included. */
export function decodeBfloat16(bits: Uint16Array): Float32Array {
  return decodeBfloat16Into(bits, new Float32Array(bits.length));
}

function checkSameLength(op: string, bits: Uint16Array, out: Float32Array): void {
  if (bits.length !== out.length) throw new QkvValueError(`${op}: ${bits.length} half values but an output of ${out.length}`);
}
