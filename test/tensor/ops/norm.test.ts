import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { QkvShapeError, QkvValueError } from '../../../src/tensor/errors.ts';
import { batchNorm, layerNorm, rmsNorm } from '../../../src/tensor/ops/norm.ts';

const rng = new Rng(13);
const f64 = (shape: number[], low = -2, high = 2) => Tensor.rand(shape, { dtype: 'float64', rng, low, high, requiresGrad: true });
const from64 = (values: number[], shape?: number[]) => Tensor.from(values, shape ?? [values.length], { dtype: 'float64' });

function assertAllClose(actual: number[], expected: number[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: size`);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) assert.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

test('layerNorm of [1, 2, 3, 4] by hand', () => {
  // mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25
  const denominator = Math.sqrt(1.25 + 1e-5);
  const plain = layerNorm(from64([1, 2, 3, 4]), null, null);
  assertAllClose(plain.toArray(), [-1.5, -0.5, 0.5, 1.5].map((v) => v / denominator), 1e-12, 'no affine');
  const affine = layerNorm(from64([1, 2, 3, 4]), from64([1, 2, 1, 1]), from64([0, 0, 1, 0]));
  assertAllClose(affine.toArray(), [-1.5, -1.0, 0.5 + denominator, 1.5].map((v) => v / denominator), 1e-12, 'affine');
  // rows are normalised independently; float32 too
  const rows = layerNorm(Tensor.from([[1, 2, 3, 4], [10, 20, 30, 40]]), null, null, 0).toArray();
  assertAllClose(rows.slice(0, 4), [-1.5, -0.5, 0.5, 1.5].map((v) => v / Math.sqrt(1.25)), 1e-6, 'row 0');
  assertAllClose(rows.slice(4), [-1.5, -0.5, 0.5, 1.5].map((v) => v / Math.sqrt(1.25)), 1e-6, 'row 1');
});

test('rmsNorm of [1, 2, 3, 4] by hand', () => {
  // mean of squares (1 + 4 + 9 + 16)/4 = 7.5
  const y = rmsNorm(from64([1, 2, 3, 4]), from64([1, 1, 2, 0.5]));
  assertAllClose(y.toArray(), [1, 2, 6, 2].map((v) => v / Math.sqrt(7.5 + 1e-6)), 1e-12, 'rmsNorm');
});

test('layerNorm and rmsNorm gradients: odd shapes, with and without weight/bias', () => {
  for (const shape of [[1, 1], [5], [3, 7], [2, 3, 5], [1, 2]]) {
    const C = shape[shape.length - 1];
    gradcheck(`layerNorm ${shape} affine`, (x, w, b) => layerNorm(x, w, b), [f64(shape), f64([C]), f64([C])]);
    gradcheck(`layerNorm ${shape} plain`, (x) => layerNorm(x, null, null), [f64(shape)]);
    gradcheck(`layerNorm ${shape} weight only`, (x, w) => layerNorm(x, w, null, 1e-3), [f64(shape), f64([C])]);
    gradcheck(`layerNorm ${shape} bias only`, (x, b) => layerNorm(x, null, b), [f64(shape), f64([C])]);
    gradcheck(`rmsNorm ${shape} weight`, (x, w) => rmsNorm(x, w), [f64(shape), f64([C])]);
    gradcheck(`rmsNorm ${shape} plain`, (x) => rmsNorm(x, null), [f64(shape)]);
  }
  // Frozen weight: only x needs a gradient.
  const frozen = Tensor.rand([4], { dtype: 'float64', rng });
  gradcheck('layerNorm frozen weight', (x, b) => layerNorm(x, frozen, b), [f64([3, 4]), f64([4])]);
});

test('batchNorm in training: batch statistics by hand and running statistics updated (unbiased var)', () => {
  // channel 0 holds [1, 3]: mean 2, biased var 1; channel 1 holds [2, 6]: mean 4, biased var 4
  const x = from64([1, 2, 3, 6], [2, 2]);
  const running = { mean: Tensor.zeros([2], { dtype: 'float64' }), var: Tensor.ones([2], { dtype: 'float64' }) };
  const y = batchNorm(x, running, null, null, { training: true });
  assertAllClose(y.toArray(), [-1 / Math.sqrt(1 + 1e-5), -2 / Math.sqrt(4 + 1e-5), 1 / Math.sqrt(1 + 1e-5), 2 / Math.sqrt(4 + 1e-5)], 1e-12, 'output');
  // running = 0.9·old + 0.1·batch, with the unbiased var (× 2/1)
  assertAllClose(running.mean.toArray(), [0.2, 0.4], 1e-12, 'running mean');
  assertAllClose(running.var.toArray(), [0.9 + 0.1 * 2, 0.9 + 0.1 * 8], 1e-12, 'running var');
  // eval uses the running statistics and leaves them alone
  const evaluated = batchNorm(from64([1, 1], [1, 2]), running, from64([2, 1]), from64([0, 1]), { training: false });
  assertAllClose(evaluated.toArray(), [2 * (1 - 0.2) / Math.sqrt(1.1 + 1e-5), (1 - 0.4) / Math.sqrt(1.7 + 1e-5) + 1], 1e-12, 'eval');
  assertAllClose(running.mean.toArray(), [0.2, 0.4], 0, 'running mean untouched in eval');
});

test('batchNorm over (N, C, L) normalises each channel over N and L; momentum option', () => {
  const x = Tensor.randn([4, 3, 5], { rng, dtype: 'float64' });
  const running = { mean: Tensor.zeros([3], { dtype: 'float64' }), var: Tensor.ones([3], { dtype: 'float64' }) };
  const y = batchNorm(x, running, null, null, { training: true, momentum: 1, eps: 0 }).tolist() as number[][][];
  const values = x.tolist() as number[][][];
  for (let c = 0; c < 3; c++) {
    const channel = values.flatMap((sample) => sample[c]);
    const normalized = y.flatMap((sample) => sample[c]);
    const mean = channel.reduce((a, b) => a + b, 0) / channel.length;
    const unbiasedVar = channel.reduce((a, b) => a + (b - mean) ** 2, 0) / (channel.length - 1);
    assertAllClose([normalized.reduce((a, b) => a + b, 0) / 20], [0], 1e-12, `channel ${c} mean`);
    assertAllClose([normalized.reduce((a, b) => a + b * b, 0) / 20], [1], 1e-12, `channel ${c} variance`);
    // momentum 1: running statistics are exactly this batch's
    assertAllClose([running.mean.toArray()[c], running.var.toArray()[c]], [mean, unbiasedVar], 1e-12, `channel ${c} running`);
  }
});

test('batchNorm gradients in training and eval mode', () => {
  for (const shape of [[4, 3], [3, 2, 5], [2, 1], [1, 2, 3]]) {
    const C = shape[1];
    const running = () => ({ mean: Tensor.zeros([C], { dtype: 'float64' }), var: Tensor.ones([C], { dtype: 'float64' }) });
    gradcheck(`batchNorm train ${shape}`, (x, w, b) => batchNorm(x, running(), w, b, { training: true }), [f64(shape), f64([C]), f64([C])]);
    gradcheck(`batchNorm train ${shape} plain`, (x) => batchNorm(x, null, null, null, { training: true }), [f64(shape)]);
    const stats = { mean: Tensor.rand([C], { dtype: 'float64', rng }), var: Tensor.rand([C], { dtype: 'float64', rng, low: 0.5, high: 2 }) };
    gradcheck(`batchNorm eval ${shape}`, (x, w, b) => batchNorm(x, stats, w, b, { training: false }), [f64(shape), f64([C]), f64([C])]);
  }
});

test('bad shapes and modes are rejected', () => {
  assert.throws(() => layerNorm(Tensor.zeros([2, 3]), Tensor.ones([4]), null), (error: Error) =>
    error instanceof QkvShapeError && /layerNorm: weight must have shape \(3\)/.test(error.message));
  assert.throws(() => rmsNorm(Tensor.zeros([2, 3]), Tensor.ones([2, 3])), QkvShapeError);
  assert.throws(() => batchNorm(Tensor.zeros([2]), null, null, null, { training: true }), QkvShapeError);
  assert.throws(() => batchNorm(Tensor.zeros([1, 3]), null, null, null, { training: true }), QkvValueError);
  assert.throws(() => batchNorm(Tensor.zeros([2, 3]), null, null, null, { training: false }), QkvValueError);
});
