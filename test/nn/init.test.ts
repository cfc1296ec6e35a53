import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  calculateGain,
  constant_,
  fanInAndFanOut,
  kaimingNormal_,
  kaimingUniform_,
  normal_,
  ones_,
  uniform_,
  xavierNormal_,
  xavierUniform_,
  zeros_,
} from '../../src/nn/init.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

// (out, in) = (400, 250): fan_in 250, fan_out 400, N = 100 000 draws per check.
const OUT = 400;
const IN = 250;
const N = OUT * IN;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const values = t.toArray();
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length), min, max };
}

/**
 * Checks the sample mean within 5 standard errors (std/√N) and the sample std within 2% of the
 * formula (its standard error is about 0.15% for uniform and 0.22% for normal draws at N = 10⁵).
 */
function assertMoments(name: string, t: Tensor, expectedMean: number, expectedStd: number): void {
  const { mean, std } = stats(t);
  const meanTolerance = (5 * expectedStd) / Math.sqrt(t.size);
  assert.ok(Math.abs(mean - expectedMean) < meanTolerance, `${name}: mean ${mean} vs ${expectedMean} (tolerance ${meanTolerance})`);
  assert.ok(Math.abs(std / expectedStd - 1) < 0.02, `${name}: std ${std} vs ${expectedStd} (tolerance 2%)`);
}

/**
 * Uniform in [−bound, bound): every value inside (up to float32 rounding, 1e-6 relative), and
 * the extremes within 0.1% of the bound, so a wrong formula fails either way.
 */
function assertUniformBound(name: string, t: Tensor, bound: number): void {
  const { min, max } = stats(t);
  const limit = bound * (1 + 1e-6);
  assert.ok(min >= -limit && max <= limit, `${name}: values in [${min}, ${max}] leave [−${bound}, ${bound})`);
  assert.ok(min < -0.999 * bound && max > 0.999 * bound, `${name}: extremes ${min}, ${max} do not reach ±${bound}`);
}

test('fan in / fan out follow PyTorch: (out, in, *kernel)', () => {
  assert.deepEqual(fanInAndFanOut(Tensor.zeros([OUT, IN])), { fanIn: IN, fanOut: OUT });
  assert.deepEqual(fanInAndFanOut(Tensor.zeros([8, 3, 5])), { fanIn: 15, fanOut: 40 });
  assert.deepEqual(fanInAndFanOut(Tensor.zeros([8, 3, 2, 2])), { fanIn: 12, fanOut: 32 });
  assert.throws(() => fanInAndFanOut(Tensor.zeros([5])), (e: Error) => e instanceof QkvValueError && /at least 2 dimensions, got \(5\)/.test(e.message));
});

test('calculateGain matches PyTorch', () => {
  assert.equal(calculateGain('linear'), 1);
  assert.equal(calculateGain('sigmoid'), 1);
  assert.equal(calculateGain('tanh'), 5 / 3);
  assert.equal(calculateGain('relu'), Math.sqrt(2));
  assert.equal(calculateGain('leaky_relu'), Math.sqrt(2 / (1 + 0.01 ** 2)));
  assert.equal(calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(1 / 3));
  assert.equal(calculateGain('selu'), 0.75);
});

test('xavierUniform_: U(−a, a), a = gain·√(6/(fan_in+fan_out))', () => {
  for (const gain of [1, 5 / 3]) {
    const t = xavierUniform_(Tensor.zeros([OUT, IN]), gain, new Rng(1));
    const bound = gain * Math.sqrt(6 / (IN + OUT));
    assertUniformBound(`xavierUniform_ gain ${gain}`, t, bound);
    assertMoments(`xavierUniform_ gain ${gain}`, t, 0, bound / Math.sqrt(3));
  }
});

test('xavierNormal_: N(0, std²), std = gain·√(2/(fan_in+fan_out))', () => {
  const gain = Math.sqrt(2);
  const t = xavierNormal_(Tensor.zeros([OUT, IN]), gain, new Rng(2));
  assertMoments('xavierNormal_', t, 0, gain * Math.sqrt(2 / (IN + OUT)));
});

test('kaimingUniform_: U(−b, b), b = gain·√(3/fan); a = √5 gives PyTorch Linear\'s 1/√fan_in', () => {
  const relu = kaimingUniform_(Tensor.zeros([OUT, IN]), { nonlinearity: 'relu', rng: new Rng(3) });
  assertUniformBound('kaimingUniform_ relu', relu, Math.sqrt(6 / IN));
  const linearDefault = kaimingUniform_(Tensor.zeros([OUT, IN]), { a: Math.sqrt(5), rng: new Rng(4) });
  assertUniformBound('kaimingUniform_ a=√5', linearDefault, 1 / Math.sqrt(IN));
  assertMoments('kaimingUniform_ a=√5', linearDefault, 0, 1 / Math.sqrt(3 * IN));
  const fanOut = kaimingUniform_(Tensor.zeros([OUT, IN]), { mode: 'fan_out', nonlinearity: 'relu', rng: new Rng(5) });
  assertUniformBound('kaimingUniform_ fan_out', fanOut, Math.sqrt(6 / OUT));
});

test('kaimingNormal_: N(0, std²), std = gain/√fan', () => {
  const t = kaimingNormal_(Tensor.zeros([OUT, IN]), { nonlinearity: 'relu', rng: new Rng(6) });
  assertMoments('kaimingNormal_', t, 0, Math.sqrt(2 / IN));
});

test('normal_ and uniform_ follow their parameters', () => {
  assertMoments('normal_(0.5, 0.02)', normal_(Tensor.zeros([N]), 0.5, 0.02, new Rng(7)), 0.5, 0.02);
  const u = uniform_(Tensor.zeros([N]), -2, 3, new Rng(8));
  assertUniformBound('uniform_(-2, 3) shifted', u.sub(0.5), 2.5);
  assertMoments('uniform_(-2, 3)', u, 0.5, 5 / Math.sqrt(12));
  assert.throws(() => normal_(Tensor.zeros([2]), 0, -1), QkvValueError);
  assert.throws(() => uniform_(Tensor.zeros([2]), 1, 0), QkvValueError);
});

test('zeros_, ones_ and constant_ fill exactly', () => {
  const t = Tensor.randn([3, 4], { rng: new Rng(9) });
  assert.ok(zeros_(t).toArray().every((v) => v === 0));
  assert.ok(ones_(t).toArray().every((v) => v === 1));
  assert.ok(constant_(t, -0.25).toArray().every((v) => v === -0.25));
});

test('initialisers are reproducible from the seed and return the same tensor', () => {
  const a = Tensor.zeros([5, 7]);
  assert.equal(xavierUniform_(a, 1, new Rng(42)), a);
  const b = xavierUniform_(Tensor.zeros([5, 7]), 1, new Rng(42));
  assert.deepEqual(a.toArray(), b.toArray());
  const c = xavierUniform_(Tensor.zeros([5, 7]), 1, new Rng(43));
  assert.notDeepEqual(a.toArray(), c.toArray());
});

test('initialisers write through strided views and touch nothing else', () => {
  // A (2, 3) storage seen as its transpose (3, 2) with strides (1, 3): every element is written.
  const storage = new Float32Array(6);
  constant_(new Tensor(storage, [3, 2], [1, 3], 0), 7);
  assert.deepEqual(Array.from(storage), [7, 7, 7, 7, 7, 7]);
  // Column 1 of a (3, 3) storage: shape (3), stride 3, offset 1; the other columns stay 0.
  const grid = new Float32Array(9);
  uniform_(new Tensor(grid, [3], [3], 1), 1, 2, new Rng(0));
  grid.forEach((v, i) => assert.ok(i % 3 === 1 ? v >= 1 && v < 2 : v === 0, `element ${i} = ${v}`));
});
