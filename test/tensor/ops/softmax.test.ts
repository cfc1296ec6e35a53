import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { QkvValueError } from '../../../src/tensor/errors.ts';
import { logSoftmax, softmax } from '../../../src/tensor/ops/softmax.ts';

const rng = new Rng(5);
const f64 = (shape: number[]) => Tensor.rand(shape, { dtype: 'float64', rng, low: -3, high: 3, requiresGrad: true });

function assertAllClose(actual: number[], expected: number[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: size`);
  for (let i = 0; i < expected.length; i++) {
    const same = actual[i] === expected[i]; // covers ±∞
    if (!same && !(Math.abs(actual[i] - expected[i]) <= tolerance)) {
      assert.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

test('softmax and logSoftmax of [1, 2, 3] by hand', () => {
  // e^1, e^2, e^3 = 2.718282, 7.389056, 20.085537; sum 30.192875
  const expected = [2.718282 / 30.192875, 7.389056 / 30.192875, 20.085537 / 30.192875];
  assertAllClose(softmax(Tensor.from([1, 2, 3]), -1).toArray(), expected, 1e-6, 'softmax');
  // log Σ e^x = log 30.192875 = 3.407606
  assertAllClose(logSoftmax(Tensor.from([1, 2, 3]), -1).toArray(), [1 - 3.407606, 2 - 3.407606, 3 - 3.407606], 1e-5, 'logSoftmax');
});

test('softmax along a middle axis normalises that axis', () => {
  const x = Tensor.randn([2, 3, 4], { rng, dtype: 'float64' });
  const y = softmax(x, 1).tolist() as number[][][];
  for (let a = 0; a < 2; a++) for (let c = 0; c < 4; c++) {
    const total = y[a][0][c] + y[a][1][c] + y[a][2][c];
    assert.ok(Math.abs(total - 1) < 1e-12, `slice (${a},:,${c}) sums to ${total}`);
  }
  const values = x.tolist() as number[][][];
  const column = [values[1][0][2], values[1][1][2], values[1][2][2]];
  const denominator = column.reduce((sum, v) => sum + Math.exp(v), 0);
  assertAllClose([y[1][0][2], y[1][1][2], y[1][2][2]], column.map((v) => Math.exp(v) / denominator), 1e-12, 'column (1,:,2)');
});

test('finite for logits of ±1e4', () => {
  const x = Tensor.from([[1e4, -1e4, 0], [-1e4, -1e4, -1e4]]);
  const y = softmax(x, -1).toArray();
  assertAllClose(y, [1, 0, 0, 1 / 3, 1 / 3, 1 / 3], 1e-6, 'softmax ±1e4');
  const logY = logSoftmax(x, -1).toArray();
  assert.ok(logY.every(Number.isFinite), `logSoftmax ±1e4 not finite: ${logY}`);
  assertAllClose(logY, [0, -2e4, -1e4, -Math.log(3), -Math.log(3), -Math.log(3)], 1e-3, 'logSoftmax ±1e4');
});

test('a fully masked row: softmax gives zeros, logSoftmax −∞, and no gradient flows', () => {
  const x = Tensor.from([[-Infinity, -Infinity, -Infinity], [0, -Infinity, 0]], undefined, { dtype: 'float64', requiresGrad: true });
  const y = softmax(x, -1);
  assert.deepEqual(y.tolist(), [[0, 0, 0], [0.5, 0, 0.5]]);
  y.backward({ gradient: Tensor.from([[1, 2, 3], [1, 2, 3]], undefined, { dtype: 'float64' }) });
  const grad = x.grad!.toArray();
  assert.deepEqual(grad.slice(0, 3), [0, 0, 0]);
  assert.ok(grad.every(Number.isFinite));

  const x2 = Tensor.from([[-Infinity, -Infinity], [1, -Infinity]], undefined, { dtype: 'float64', requiresGrad: true });
  const logY = logSoftmax(x2, -1);
  assert.deepEqual(logY.tolist(), [[-Infinity, -Infinity], [0, -Infinity]]);
  logY.backward({ gradient: Tensor.ones([2, 2], { dtype: 'float64' }) });
  // row 2: dy − softmax·Σdy = [1 − 1·2, 1 − 0·2]
  assert.deepEqual(x2.grad!.toArray(), [0, 0, -1, 1]);
});

test('gradients, odd shapes and every axis', () => {
  for (const shape of [[1], [7], [3, 5], [2, 3, 5], [1, 1, 4]]) {
    for (let axis = -shape.length; axis < shape.length; axis++) {
      gradcheck(`softmax ${shape} axis ${axis}`, (x) => softmax(x, axis), [f64(shape)]);
      gradcheck(`logSoftmax ${shape} axis ${axis}`, (x) => logSoftmax(x, axis), [f64(shape)]);
    }
  }
});

test('strided input (a transposed view) reads the right elements', () => {
  const base = Tensor.from([[1, 4], [2, 5], [3, 6]], undefined, { dtype: 'float64' }); // (3,2)
  const view = new Tensor(base.data, [2, 3], [1, 2], 0); // [[1,2,3],[4,5,6]]
  const expected = softmax(Tensor.from([[1, 2, 3], [4, 5, 6]], undefined, { dtype: 'float64' }), -1).toArray();
  assertAllClose(softmax(view, -1).toArray(), expected, 1e-15, 'softmax of view');
});

test('axis out of range is a QkvValueError', () => {
  assert.throws(() => softmax(Tensor.zeros([2, 3]), 2), QkvValueError);
});
