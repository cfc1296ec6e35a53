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
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

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

let float16Table: Float32Array | undefined;

/** All 65536 binary16 values, built on first use (256 KiB), so decoding a tensor is one lookup per element. */
function float16Values(): Float32Array {
  if (float16Table === undefined) {
    float16Table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) float16Table[bits] = fromFloat16Bits(bits);
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

/** Element-wise {@link fromFloat16Bits}. */
export function decodeFloat16(bits: Uint16Array): Float32Array {
  const table = float16Values();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** Element-wise {@link fromBfloat16Bits}: the bits become the top half of a float32, NaN payloads included. */
export function decodeBfloat16(bits: Uint16Array): Float32Array {
  const wide = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) wide[i] = bits[i] << 16;
  return new Float32Array(wide.buffer);
}
