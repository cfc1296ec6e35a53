import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockScale, dequantizeMatrix, quantizeMatrix, QUANT_FORMAT_INFO, type QuantFormat } from '../../src/compress/formats.ts';
import { Rng } from '../../src/tensor/random.ts';

function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

test('Q8_0: a hand-made block, byte by byte (fp16 scale, then 32 int8 codes, roundf half away from zero)', () => {
  // amax 127 → d = 1 exactly (fp16 0x3c00, bytes 00 3c), codes = round(x): ±2.5 → ±3 (not Math.round's -2)
  const x = new Float32Array(32);
  x[0] = -127; x[1] = 2.5; x[2] = -2.5; x[3] = 0.49; x[4] = -0.5; x[31] = 126.6;
  const { data } = quantizeMatrix('q8_0', x, 1, 32);
  assert.equal(data.length, 34);
  assert.deepEqual([...data.subarray(0, 7)], [0x00, 0x3c, 0x81, 0x03, 0xfd, 0x00, 0xff]);
  assert.equal(data[33], 127);
  assert.deepEqual([...data.subarray(7, 33)], new Array(26).fill(0));
});

test('Q8_0: scale d = amax/127 rounded to fp16 (worked by hand)', () => {
  // x_j = (j − 16)/2: amax 8, d = 8/127 = 0.0629921… = 2⁻⁴·(1 + 8.06/1024) → fp16 0x2c08; q_j = round((j−16)·7.9375)
  const x = Float32Array.from({ length: 32 }, (_, j) => (j - 16) / 2);
  const { data } = quantizeMatrix('q8_0', x, 1, 32);
  assert.deepEqual([data[0], data[1]], [0x08, 0x2c]);
  assert.equal(data[2], 0x81); // −127
  assert.equal(data[3], 0x89); // −119.0625 → −119
  assert.equal(data[2 + 16], 0);
  assert.equal(data[2 + 17], 8); // 7.9375 → 8
  assert.equal(data[2 + 31], 119); // 119.0625 → 119
});

test('Q4_0: hand-made blocks (d = max/−8, low nibble weight j, high nibble weight j+16, +8 clamps to 15)', () => {
  const x = Float32Array.from({ length: 32 }, (_, j) => (j % 16) - 8); // max magnitude −8 → d = 1, q = x + 8
  x[16] = 7; // byte 0 = 0 | 15 << 4
  const { data } = quantizeMatrix('q4_0', x, 1, 32);
  assert.equal(data.length, 18);
  assert.deepEqual([data[0], data[1]], [0x00, 0x3c]);
  assert.equal(data[2], 0xf0);
  assert.equal(data[3], 0x11); // weights 1 and 17 are −7: code 1 each
  // positive extreme: d = 8/−8 = −1 (fp16 0xbc00); x = 8 → code 0, x = −8 → 16, clamped to 15
  const y = new Float32Array(32);
  y[0] = 8; y[16] = -8;
  const q = quantizeMatrix('q4_0', y, 1, 32).data;
  assert.deepEqual([q[0], q[1], q[2]], [0x00, 0xbc, 0x00 | (15 << 4)]);
  assert.deepEqual([...dequantizeMatrix({ format: 'q4_0', rows: 1, cols: 32, data: q }).subarray(0, 17)].filter((_, j) => j === 0 || j === 16), [8, -7]);
});

test('Q4_G128: hand-made group (d = (max − min)/15, m = min, q = round((x − m)/d))', () => {
  const x = Float32Array.from({ length: 128 }, (_, j) => (j % 16) - 5); // min −5, max 10: d = 1, m = −5, q = x + 5
  const { data } = quantizeMatrix('q4_g128', x, 1, 128);
  assert.equal(data.length, 68);
  assert.deepEqual([data[0], data[1], data[2], data[3]], [0x00, 0x3c, 0x00, 0xc5]); // 1.0 and −5.0 in fp16
  assert.equal(data[4], 0x00); // weights 0 and 64: codes 0, 0
  assert.equal(data[4 + 15], 0xff); // weights 15 and 79: codes 15, 15
  assert.deepEqual([...dequantizeMatrix({ format: 'q4_g128', rows: 1, cols: 128, data })], [...x]);
});

/** Largest |x − x̂| over a block divided by the bound, for each block. */
function worstRatios(format: QuantFormat, x: Float32Array, rows: number, cols: number, boundOf: (d: number, code: number, m: number) => number): number[] {
  const matrix = quantizeMatrix(format, x, rows, cols);
  const restored = dequantizeMatrix(matrix);
  const { blockSize } = QUANT_FORMAT_INFO[format];
  const ratios: number[] = [];
  for (let b = 0; b < x.length / blockSize; b++) {
    const { d, m } = blockScale(matrix, b);
    let worst = 0;
    for (let j = 0; j < blockSize; j++) {
      const i = b * blockSize + j;
      const code = d === 0 ? 0 : Math.round((restored[i] - m) / d);
      worst = Math.max(worst, Math.abs(x[i] - restored[i]) / boundOf(Math.abs(d), code, Math.abs(m)));
    }
    ratios.push(worst);
  }
  return ratios;
}

test('error bound per block: |x − x̂| ≤ |d|/2 when the scale is exact in fp16, plus |q|·(fp16 rounding of d) otherwise', () => {
  const rows = 16;
  const cols = 256;
  for (const format of ['q8_0', 'q4_0', 'q4_g128'] as const) {
    const x = randomValues(rows * cols, 7, 0.1);
    // the fp16 scale (and Q4_G128's fp16 offset) is within a relative 2⁻¹¹ of the exact one; each code multiplies the scale's error
    const ratios = worstRatios(format, x, rows, cols, (d, code, m) => d / 2 + (Math.abs(code) * d + m) * 2 ** -11 * 1.0001 + 1e-9);
    // Q4_0's one clamped weight (x = +8·|d| when max is negative) is off by d: every other is within the bound
    if (format !== 'q4_0') assert.ok(Math.max(...ratios) <= 1, `${format}: worst ratio ${Math.max(...ratios)}`);
  }
  // exact scales: blocks whose amax is 127·2⁻⁵ (Q8_0) give d = 2⁻⁵, and the plain d/2 bound holds
  const x = randomValues(32 * 8, 3, 127 / 32);
  for (let b = 0; b < 8; b++) x[b * 32 + (b % 32)] = (b % 2 ? 1 : -1) * (127 / 32);
  const ratios = worstRatios('q8_0', x, 8, 32, (d) => d / 2);
  assert.ok(Math.max(...ratios) <= 1, `exact-scale Q8_0 worst ratio ${Math.max(...ratios)}`);
});

test('Q4_0 error: every weight but the clamped +8·|d| one within |d|/2 (+fp16), that one within |d|', () => {
  const x = randomValues(32 * 64, 11);
  const matrix = quantizeMatrix('q4_0', x, 64, 32);
  const restored = dequantizeMatrix(matrix);
  for (let b = 0; b < 64; b++) {
    const { d } = blockScale(matrix, b);
    for (let j = 0; j < 32; j++) {
      const i = b * 32 + j;
      const clamped = x[i] / d >= 7.49; // x/d + 8.5 ≥ 16 → code clamped to 15
      const bound = clamped ? Math.abs(d) * 1.01 : Math.abs(d) / 2 + 8 * Math.abs(d) * 2 ** -11 + 1e-9;
      assert.ok(Math.abs(x[i] - restored[i]) <= bound, `block ${b} weight ${j}: |${x[i]} − ${restored[i]}| > ${bound}`);
    }
  }
});

test('rows that are not a whole number of blocks are refused, naming the format', () => {
  assert.throws(() => quantizeMatrix('q8_0', new Float32Array(48), 1, 48), /q8_0: .*48 weights; q8_0 needs a multiple of 32/);
  assert.throws(() => quantizeMatrix('q4_g128', new Float32Array(64), 1, 64), /multiple of 128/);
  assert.throws(() => quantizeMatrix('q4_0', new Float32Array(31), 1, 32), /expected 1·32 = 32 values, got 31/);
});
