import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNorm1d, LayerNorm, RMSNorm } from '../../src/nn/norm.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { QkvShapeError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

function assertClose(actual: number[], expected: number[], tolerance: number, name: string): void {
  assert.equal(actual.length, expected.length, `${name}: length`);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `${name}[${i}]: ${v} vs ${expected[i]} (tolerance ${tolerance})`));
}

/** Per-column (feature) mean and population variance of rows × columns values. */
function columnStats(rows: number[][]): { mean: number[]; variance: number[]; unbiased: number[] } {
  const n = rows.length;
  const mean = rows[0].map((_, c) => rows.reduce((s, r) => s + r[c], 0) / n);
  const squares = rows[0].map((_, c) => rows.reduce((s, r) => s + (r[c] - mean[c]) ** 2, 0));
  return { mean, variance: squares.map((s) => s / n), unbiased: squares.map((s) => s / (n - 1)) };
}

// ---- LayerNorm -----------------------------------------------------------------------------

test('LayerNorm normalises each row over the features, then scales and shifts', () => {
  const ln = new LayerNorm(4);
  assert.deepEqual(ln.namedParameters().map(([name]) => name), ['weight', 'bias']);
  assert.deepEqual(ln.weight?.toArray(), [1, 1, 1, 1]);
  assert.deepEqual(ln.bias?.toArray(), [0, 0, 0, 0]);
  ln.loadStateDict({ weight: Tensor.from([1, 2, 1, 1]), bias: Tensor.from([0, 0, 0, 10]) });
  // row [1, 2, 3, 4]: mean 2.5, population variance 1.25
  const s = Math.sqrt(1.25 + 1e-5);
  const y = ln.forward(Tensor.from([[1, 2, 3, 4], [5, 5, 5, 5]]));
  assertClose(y.toArray(), [-1.5 / s, 2 * (-0.5 / s), 0.5 / s, 1.5 / s + 10, 0, 0, 0, 10], 1e-5, 'LayerNorm');
});

test('LayerNorm options: no affine, no bias, eps', () => {
  assert.equal(new LayerNorm(3, { elementwiseAffine: false }).numParameters(), 0);
  assert.deepEqual(new LayerNorm(3, { bias: false }).namedParameters().map(([name]) => name), ['weight']);
  const eps = 1;
  const y = new LayerNorm(2, { eps, elementwiseAffine: false }).forward(Tensor.from([[0, 2]]));
  assertClose(y.toArray(), [-1 / Math.sqrt(1 + eps), 1 / Math.sqrt(1 + eps)], 1e-6, 'LayerNorm eps 1');
  assert.throws(() => new LayerNorm(4).forward(Tensor.zeros([2, 3])), (e: Error) =>
    e instanceof QkvShapeError && e.message === 'LayerNorm: expected input with last dimension 4, got (2,3)');
});

test('LayerNorm gradients of x, weight and bias match finite differences (float64)', () => {
  const rng = new Rng(1);
  const ln = new LayerNorm(5, { dtype: 'float64' });
  ln.weight!.data.set(Tensor.randn([5], { rng, dtype: 'float64' }).data);
  ln.bias!.data.set(Tensor.randn([5], { rng, dtype: 'float64' }).data);
  const x = Tensor.randn([2, 3, 5], { dtype: 'float64', rng, requiresGrad: true });
  gradcheck('LayerNorm module', (input) => ln.forward(input), [x, ln.weight!, ln.bias!]);
});

// ---- RMSNorm -------------------------------------------------------------------------------

test('RMSNorm divides by the root mean square (no centring, no bias)', () => {
  const norm = new RMSNorm(2);
  assert.deepEqual(norm.namedParameters().map(([name]) => name), ['weight']);
  norm.loadStateDict({ weight: Tensor.from([1, 3]) });
  // [3, 4]: mean square 12.5
  const r = Math.sqrt(12.5 + 1e-6);
  assertClose(norm.forward(Tensor.from([[3, 4]])).toArray(), [3 / r, (3 * 4) / r], 1e-5, 'RMSNorm');
  assert.equal(new RMSNorm(4, { elementwiseAffine: false }).numParameters(), 0);
  assert.throws(() => norm.forward(Tensor.zeros([3])), QkvShapeError);
});

test('RMSNorm gradients match finite differences (float64)', () => {
  const rng = new Rng(2);
  const norm = new RMSNorm(4, { dtype: 'float64' });
  norm.weight!.data.set(Tensor.randn([4], { rng, dtype: 'float64' }).data);
  const x = Tensor.randn([3, 4], { dtype: 'float64', rng, requiresGrad: true });
  gradcheck('RMSNorm module', (input) => norm.forward(input), [x, norm.weight!]);
});

// ---- BatchNorm1d ---------------------------------------------------------------------------

const batch = [[1, 10], [2, 20], [3, 40], [6, 10]]; // (N = 4, C = 2)

test('BatchNorm1d state: PyTorch\'s parameter and buffer names, buffers untrained', () => {
  const bn = new BatchNorm1d(2);
  assert.deepEqual(Object.keys(bn.stateDict()), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  assert.deepEqual(bn.namedParameters().map(([name]) => name), ['weight', 'bias']);
  assert.equal(bn.numParameters(), 4);
  assert.deepEqual(bn.running_mean?.toArray(), [0, 0]);
  assert.deepEqual(bn.running_var?.toArray(), [1, 1]);
  const noStats = new BatchNorm1d(3, { affine: false, trackRunningStats: false });
  assert.deepEqual(Object.keys(noStats.stateDict()), []);
});

test('BatchNorm1d training: batch statistics, and running statistics updated with momentum', () => {
  const bn = new BatchNorm1d(2);
  const y = bn.forward(Tensor.from(batch)).tolist() as number[][];
  const { mean, variance, unbiased } = columnStats(batch);
  const expected = batch.map((row) => row.map((v, c) => (v - mean[c]) / Math.sqrt(variance[c] + 1e-5)));
  assertClose(y.flat(), expected.flat(), 1e-5, 'BatchNorm1d train output');
  // PyTorch: running = 0.9·running + 0.1·batch, with the unbiased batch variance
  assertClose(bn.running_mean!.toArray(), mean.map((m) => 0.1 * m), 1e-5, 'running_mean');
  assertClose(bn.running_var!.toArray(), unbiased.map((v) => 0.9 + 0.1 * v), 1e-4, 'running_var');
  assert.equal(bn.num_batches_tracked!.item(), 1);
});

test('BatchNorm1d eval: running statistics, left unchanged; train/eval change the output', () => {
  const bn = new BatchNorm1d(2);
  bn.loadStateDict({
    weight: Tensor.from([2, 1]), bias: Tensor.from([0, 1]),
    running_mean: Tensor.from([1, 10]), running_var: Tensor.from([4, 100]), num_batches_tracked: Tensor.scalar(7),
  });
  bn.eval();
  const x = Tensor.from(batch);
  const y = bn.forward(x).toArray();
  const expected = batch.flatMap(([a, b]) => [2 * (a - 1) / Math.sqrt(4 + 1e-5), (b - 10) / Math.sqrt(100 + 1e-5) + 1]);
  assertClose(y, expected, 1e-5, 'BatchNorm1d eval output');
  assert.deepEqual(bn.running_mean!.toArray(), [1, 10]);
  assert.deepEqual(bn.running_var!.toArray(), [4, 100]);
  assert.equal(bn.num_batches_tracked!.item(), 7);
  bn.train();
  const trained = bn.forward(x).toArray();
  assert.ok(trained.some((v, i) => Math.abs(v - y[i]) > 0.1), 'training mode uses the batch statistics instead');
  assert.equal(bn.num_batches_tracked!.item(), 8);
});

test('BatchNorm1d momentum: null keeps the cumulative average of the batch statistics', () => {
  const bn = new BatchNorm1d(2, { momentum: null, affine: false });
  const second = [[0, 0], [2, 4], [4, 8], [6, 12]];
  bn.forward(Tensor.from(batch));
  bn.forward(Tensor.from(second));
  const a = columnStats(batch);
  const b = columnStats(second);
  assertClose(bn.running_mean!.toArray(), a.mean.map((m, c) => (m + b.mean[c]) / 2), 1e-5, 'running_mean');
  assertClose(bn.running_var!.toArray(), a.unbiased.map((v, c) => (v + b.unbiased[c]) / 2), 1e-4, 'running_var');
});

test('BatchNorm1d without running statistics uses batch statistics in eval too', () => {
  const bn = new BatchNorm1d(2, { trackRunningStats: false }).eval();
  const { mean, variance } = columnStats(batch);
  const expected = batch.flatMap((row) => row.map((v, c) => (v - mean[c]) / Math.sqrt(variance[c] + 1e-5)));
  assertClose(bn.forward(Tensor.from(batch)).toArray(), expected, 1e-5, 'BatchNorm1d no stats');
});

test('BatchNorm1d on (N, C, L) normalises each channel over N and L', () => {
  const rng = new Rng(3);
  const x = Tensor.randn([3, 2, 5], { rng, mean: 4, std: 2 });
  const y = new BatchNorm1d(2, { affine: false }).forward(x).tolist() as number[][][];
  for (let c = 0; c < 2; c++) {
    const values = y.flatMap((sample) => sample[c]);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
    assert.ok(Math.abs(mean) < 1e-5, `channel ${c} mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 1e-3, `channel ${c} variance ${variance}`);
  }
  assert.throws(() => new BatchNorm1d(3).forward(Tensor.zeros([4, 2])), (e: Error) =>
    e instanceof QkvShapeError && e.message === 'BatchNorm1d: expected input (N, 3) or (N, 3, L), got (4,2)');
});

test('BatchNorm1d gradients match finite differences in training mode (float64)', () => {
  const rng = new Rng(4);
  const bn = new BatchNorm1d(3, { dtype: 'float64' });
  bn.weight!.data.set(Tensor.randn([3], { rng, dtype: 'float64' }).data);
  bn.bias!.data.set(Tensor.randn([3], { rng, dtype: 'float64' }).data);
  const x = Tensor.randn([4, 3], { dtype: 'float64', rng, requiresGrad: true });
  gradcheck('BatchNorm1d module', (input) => bn.forward(input), [x, bn.weight!, bn.bias!]);
});
