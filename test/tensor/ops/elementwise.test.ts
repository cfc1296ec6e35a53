import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { erf } from '../../../src/tensor/ops/elementwise.ts';
import { mapBinary, mapUnary } from '../../../src/tensor/ops/broadcast.ts';
import { QkvShapeError } from '../../../src/tensor/errors.ts';

const rng = new Rng(7);
const f64 = (shape: number[], options: { low?: number; high?: number; requiresGrad?: boolean } = {}) =>
  Tensor.rand(shape, { dtype: 'float64', rng, low: options.low ?? -2, high: options.high ?? 2, requiresGrad: options.requiresGrad ?? true });

test('binary ops broadcast like NumPy', () => {
  const a = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  const b = Tensor.from([10, 20, 30]);
  assert.deepEqual(a.add(b).tolist(), [[11, 22, 33], [14, 25, 36]]);
  assert.deepEqual(a.mul(Tensor.from([[2], [3]])).tolist(), [[2, 4, 6], [12, 15, 18]]);
  assert.deepEqual(a.sub(1).tolist(), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(Tensor.from([[1], [2]]).add(Tensor.from([[10, 20]])).shape, [2, 2]);
});

test('incompatible broadcast names the op and both shapes', () => {
  assert.throws(() => Tensor.zeros([2, 3]).add(Tensor.zeros([4])), (error: Error) =>
    error instanceof QkvShapeError && /add: cannot broadcast shapes \(2,3\) and \(4\)/.test(error.message));
});

test('unary ops match their definitions', () => {
  const x = Tensor.from([-1.5, 0, 0.5, 2]);
  const close = (actual: number[], expected: number[]) =>
    actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `index ${i}: ${v} vs ${expected[i]}`));
  close(x.relu().toArray(), [0, 0, 0.5, 2]);
  close(x.leakyRelu(0.1).toArray(), [-0.15, 0, 0.5, 2]);
  close(x.sigmoid().toArray(), [-1.5, 0, 0.5, 2].map((v) => 1 / (1 + Math.exp(-v))));
  close(x.silu().toArray(), [-1.5, 0, 0.5, 2].map((v) => v / (1 + Math.exp(-v))));
  // GELU(1) = Φ(1) = 0.8413447460685429; tanh form from GPT-2's formula by hand
  close(Tensor.from([1]).gelu().toArray(), [0.8413447460685429]);
  close(Tensor.from([1]).gelu('tanh').toArray(), [0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715))]);
});

test('erf matches published values', () => {
  // Abramowitz & Stegun table 7.1
  assert.ok(Math.abs(erf(0.5) - 0.5204998778) < 1e-9);
  assert.ok(Math.abs(erf(1) - 0.8427007929) < 1e-9);
  assert.ok(Math.abs(erf(-2) + 0.9953222650) < 1e-9);
  assert.ok(Math.abs(erf(3) - 0.9999779095) < 1e-9);
});

test('sigmoid stays finite for huge inputs', () => {
  const y = Tensor.from([-1e4, 1e4]).sigmoid().toArray();
  assert.deepEqual(y, [0, 1]);
});

test('gradients of binary ops with broadcasting and odd shapes', () => {
  const shapes: [number[], number[]][] = [[[3, 5], [3, 5]], [[2, 3, 7], [7]], [[1], [5, 1]], [[4, 1, 3], [1, 2, 1]], [[], [2, 3]]];
  for (const [shapeA, shapeB] of shapes) {
    gradcheck('add', (a, b) => a.add(b), [f64(shapeA), f64(shapeB)]);
    gradcheck('sub', (a, b) => a.sub(b), [f64(shapeA), f64(shapeB)]);
    gradcheck('mul', (a, b) => a.mul(b), [f64(shapeA), f64(shapeB)]);
    gradcheck('div', (a, b) => a.div(b), [f64(shapeA), f64(shapeB, { low: 0.5, high: 2 })]);
    gradcheck('pow', (a, b) => a.pow(b), [f64(shapeA, { low: 0.5, high: 2 }), f64(shapeB, { low: -1.5, high: 2.5 })]);
  }
  gradcheck('pow scalar', (a) => a.pow(3), [f64([2, 5])]);
});

test('gradients of unary ops', () => {
  const shape = [3, 7];
  gradcheck('neg', (x) => x.neg(), [f64(shape)]);
  gradcheck('exp', (x) => x.exp(), [f64(shape)]);
  gradcheck('log', (x) => x.log(), [f64(shape, { low: 0.2, high: 3 })]);
  gradcheck('sqrt', (x) => x.sqrt(), [f64(shape, { low: 0.2, high: 3 })]);
  gradcheck('rsqrt', (x) => x.rsqrt(), [f64(shape, { low: 0.2, high: 3 })]);
  gradcheck('abs', (x) => x.abs(), [f64(shape, { low: 0.1, high: 2 })]);
  gradcheck('abs negative', (x) => x.abs(), [f64(shape, { low: -2, high: -0.1 })]);
  gradcheck('tanh', (x) => x.tanh(), [f64(shape)]);
  gradcheck('sigmoid', (x) => x.sigmoid(), [f64(shape)]);
  gradcheck('relu', (x) => x.relu(), [Tensor.from([-1.3, -0.2, 0.4, 1.7, 2.9], [5], { dtype: 'float64', requiresGrad: true })]);
  gradcheck('leakyRelu', (x) => x.leakyRelu(0.2), [Tensor.from([-1.3, -0.2, 0.4, 1.7, 2.9], [5], { dtype: 'float64', requiresGrad: true })]);
  gradcheck('gelu exact', (x) => x.gelu(), [f64(shape, { low: -4, high: 4 })]);
  gradcheck('gelu tanh', (x) => x.gelu('tanh'), [f64(shape, { low: -4, high: 4 })]);
  gradcheck('silu', (x) => x.silu(), [f64(shape)]);
});

test('gradients through strided (transposed) inputs', () => {
  gradcheck('gelu of transposed', (x) => x.transpose(0, 1).gelu('tanh'), [f64([5, 3], { low: -3, high: 3 })]);
  gradcheck('exp of narrowed', (x) => x.narrow(1, 1, 3).exp(), [f64([2, 5])]);
  gradcheck('mul of transposed by bias', (x, b) => x.transpose(0, 1).mul(b), [f64([5, 3]), f64([5])]);
  gradcheck('sub bias', (x, b) => x.sub(b), [f64([4, 3]), f64([3])]);
});

// The closure definitions the unary loops replaced: forward f(x), derivative d(x, y = f(x)).
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const sigmoidRef = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
const unaryReferences: [string, (x: Tensor) => Tensor, (v: number) => number, (v: number, y: number) => number, [number, number]][] = [
  ['neg', (x) => x.neg(), (v) => -v, () => -1, [-3, 3]],
  ['exp', (x) => x.exp(), Math.exp, (_v, y) => y, [-3, 3]],
  ['log', (x) => x.log(), Math.log, (v) => 1 / v, [0.1, 3]],
  ['sqrt', (x) => x.sqrt(), Math.sqrt, (_v, y) => 0.5 / y, [0.1, 3]],
  ['rsqrt', (x) => x.rsqrt(), (v) => 1 / Math.sqrt(v), (v, y) => (-0.5 * y) / v, [0.1, 3]],
  ['abs', (x) => x.abs(), Math.abs, (v) => Math.sign(v), [-3, 3]],
  ['tanh', (x) => x.tanh(), Math.tanh, (_v, y) => 1 - y * y, [-3, 3]],
  ['sigmoid', (x) => x.sigmoid(), sigmoidRef, (_v, y) => y * (1 - y), [-6, 6]],
  ['relu', (x) => x.relu(), (v) => (v > 0 ? v : 0), (v) => (v > 0 ? 1 : 0), [-3, 3]],
  ['leakyRelu', (x) => x.leakyRelu(0.2), (v) => (v > 0 ? v : 0.2 * v), (v) => (v > 0 ? 1 : 0.2), [-3, 3]],
  ['silu', (x) => x.silu(), (v) => v * sigmoidRef(v), (v) => sigmoidRef(v) * (1 + v * (1 - sigmoidRef(v))), [-6, 6]],
  ['gelu', (x) => x.gelu(), (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)), (v) => 0.5 * (1 + erf(v / Math.SQRT2)) + (v / Math.sqrt(2 * Math.PI)) * Math.exp(-0.5 * v * v), [-5, 5]],
  [
    'gelu tanh',
    (x) => x.gelu('tanh'),
    (v) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))),
    (v) => {
      const t = Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v));
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
    },
    [-12, 12],
  ],
];

function assertClose(actual: Tensor, expected: Tensor, tolerance: number, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.toArray();
  const e = expected.toArray();
  for (let i = 0; i < e.length; i++) {
    const error = Math.abs(a[i] - e[i]);
    if (!(error <= tolerance * Math.max(1, Math.abs(e[i])))) assert.fail(`${what}: index ${i}: ${a[i]} vs ${e[i]} (error ${error})`);
  }
}

test('gelu tanh at the extremes matches the tanh formula', () => {
  const x = Tensor.from([Infinity, 1e30, 1e4, 30, 1e-30, 0, -0, -1e-30, -30, -1e4, -1e30, NaN], [12], { dtype: 'float64' });
  const reference = (v: number) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
  assert.deepEqual(x.gelu('tanh').toArray(), x.toArray().map(reference));
});

test('gelu tanh backward in float32 is accurate to float32 rounding over a dense grid', () => {
  const n = 24001;
  const x = Tensor.from(Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1)), [n]).requiresGrad_();
  x.gelu('tanh').backward({ gradient: Tensor.ones([n]) });
  const slope = (v: number) => {
    const t = Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v));
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
  };
  const values = x.toArray();
  x.grad!.toArray().forEach((g, i) => {
    const expected = slope(values[i]);
    assert.ok(Math.abs(g - expected) <= 1.2e-7 * Math.max(1, Math.abs(expected)), `x = ${values[i]} (index ${i}): ${g} vs ${expected}`);
  });
});

test('unary loops match the closure definitions through the general path, forward and backward', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    // float32: the loops round grad·f'(x) once, the reference rounds f'(x) first, then the product
    const tolerance = dtype === 'float64' ? 1e-14 : 2e-7;
    for (const [name, op, forward, derivative, [low, high]] of unaryReferences) {
      const base = Tensor.rand([7, 5], { dtype, rng, low, high });
      const inputs: [string, Tensor][] = [
        ['dense', base.contiguousCopy()],
        ['transposed', base.transpose(0, 1)],
        ['narrowed', base.narrow(1, 1, 3)],
      ];
      for (const [layout, view] of inputs) {
        const what = `${name} ${dtype} ${layout}`;
        const x = view.detach().requiresGrad_();
        const y = op(x);
        const expectedY = mapUnary(view, forward);
        assertClose(y, expectedY, tolerance, `${what} forward`);
        const grad = Tensor.rand(y.shape, { dtype, rng, low: -1, high: 1 });
        y.backward({ gradient: grad.transpose(0, 1).contiguousCopy().transpose(0, 1) }); // a strided gradient, too
        assertClose(x.grad!, grad.mul(mapBinary(name, view, expectedY, derivative)), tolerance, `${what} backward`);
      }
    }
  }
});
