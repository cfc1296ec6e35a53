import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { QkvShapeError, QkvValueError } from '../../../src/tensor/errors.ts';
import { binaryCrossEntropyWithLogits, crossEntropy, mseLoss } from '../../../src/tensor/ops/loss.ts';
import type { Tensor as TfTensor } from '@tensorflow/tfjs';

const rng = new Rng(9);
const f64 = (shape: number[], low = -3, high = 3) => Tensor.rand(shape, { dtype: 'float64', rng, low, high, requiresGrad: true });

function assertClose(actual: number, expected: number, tolerance: number, label: string): void {
  if (!(Math.abs(actual - expected) <= tolerance)) assert.fail(`${label}: ${actual}, expected ${expected} (tolerance ${tolerance})`);
}

/** −log softmax(row)[t], by the definition, in float64. */
function nllByDefinition(row: number[], target: number): number {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((sum, v) => sum + Math.exp(v - max), 0));
  return lse - row[target];
}

test('cross-entropy of a 2-class example by hand', () => {
  // logits [0, ln 3] → p = [1/4, 3/4]; target 1 → −ln(3/4) = 0.2876821; target 0 → ln 4 = 1.3862944
  const logits = Tensor.from([[0, Math.log(3)], [0, Math.log(3)]], undefined, { dtype: 'float64' });
  assertClose(crossEntropy(logits, [1, 0], { reduction: 'none' }).toArray()[0], 0.2876821, 1e-7, 'row 0');
  assertClose(crossEntropy(logits, [1, 0], { reduction: 'none' }).toArray()[1], 1.3862944, 1e-7, 'row 1');
  assertClose(crossEntropy(logits, [1, 0]).item(), (0.2876821 + 1.3862944) / 2, 1e-7, 'mean');
  assertClose(crossEntropy(logits, [1, 0], { reduction: 'sum' }).item(), 0.2876821 + 1.3862944, 1e-7, 'sum');
  // ε = 0.1: (1 − ε)·nll + ε·mean(−log p) with mean(−log p) = (ln 4 + ln 4/3)/2 = 0.8369882
  const smoothed = crossEntropy(logits.detach(), [1, 1], { labelSmoothing: 0.1 }).item();
  assertClose(smoothed, 0.9 * 0.2876821 + 0.1 * 0.8369882, 1e-7, 'label smoothing');
  // gradient of the mean: (softmax − onehot)/N = ([1/4, 3/4] − [0, 1])/2 per row
  const leaf = logits.detach().requiresGrad_();
  crossEntropy(leaf, [1, 1]).backward();
  assert.deepEqual(leaf.grad!.toArray().map((v) => Math.round(v * 1e9) / 1e9), [0.125, -0.125, 0.125, -0.125]);
});

test('(B,T,V) logits with (B,T) targets match the definition; ignoreIndex and mean over kept rows', () => {
  const logits = Tensor.randn([2, 3, 5], { rng, dtype: 'float64' });
  const targets = Tensor.from([[1, 4, -100], [0, -100, 2]]);
  const rows = (logits.tolist() as number[][][]).flat();
  const ids = [1, 4, -100, 0, -100, 2];
  const perRow = crossEntropy(logits, targets, { reduction: 'none' });
  assert.deepEqual(perRow.shape, [2, 3]);
  perRow.toArray().forEach((loss, r) => assertClose(loss, ids[r] === -100 ? 0 : nllByDefinition(rows[r], ids[r]), 1e-12, `row ${r}`));
  const kept = ids.map((t, r) => (t === -100 ? 0 : nllByDefinition(rows[r], t))).reduce((a, b) => a + b, 0);
  assertClose(crossEntropy(logits, targets).item(), kept / 4, 1e-12, 'mean over 4 kept targets');
  // a custom ignoreIndex, targets given flat
  assertClose(crossEntropy(logits, [1, 4, 3, 0, 3, 2], { ignoreIndex: 3 }).item(), kept / 4, 1e-12, 'ignoreIndex 3');
});

test('all targets ignored: mean is 0 (documented), gradient 0', () => {
  const logits = f64([3, 4]);
  const loss = crossEntropy(logits, [-100, -100, -100]);
  assert.equal(loss.item(), 0);
  loss.backward();
  assert.ok(logits.grad!.toArray().every((v) => v === 0));
});

test('finite for logits of ±1e4', () => {
  const logits = Tensor.from([[1e4, -1e4, 0], [-1e4, 1e4, -1e4]], undefined, { requiresGrad: true });
  const perRow = crossEntropy(logits, [1, 1], { reduction: 'none' }).toArray();
  assertClose(perRow[0], 2e4, 1e-6 * 2e4, 'wrong class by 2e4');
  assertClose(perRow[1], 0, 1e-6, 'right class');
  const loss = crossEntropy(logits, [1, 1], { labelSmoothing: 0.2 });
  assert.ok(Number.isFinite(loss.item()));
  loss.backward();
  assert.ok(logits.grad!.toArray().every(Number.isFinite));
});

test('out-of-range and non-integer targets, bad options and shapes are rejected', () => {
  const logits = Tensor.zeros([2, 5]);
  assert.throws(() => crossEntropy(logits, [1, 5]), (error: Error) =>
    error instanceof QkvValueError && /target 5 at position 1 is out of range for 5 classes/.test(error.message));
  assert.throws(() => crossEntropy(logits, [-1, 0]), QkvValueError);
  assert.throws(() => crossEntropy(logits, [0.5, 0]), QkvValueError);
  assert.throws(() => crossEntropy(logits, [0, 1, 2]), QkvShapeError);
  assert.throws(() => crossEntropy(Tensor.zeros([2, 3, 5]), Tensor.from([[0, 1]])), QkvShapeError);
  assert.throws(() => crossEntropy(logits, [0, 1], { labelSmoothing: 1.5 }), QkvValueError);
  assert.throws(() => crossEntropy(logits, [0, 1], { reduction: 'avg' as 'mean' }), QkvValueError);
});

test('cross-entropy gradients: odd shapes, ignoreIndex, label smoothing, every reduction', () => {
  const cases: { shape: number[]; targets: number[] }[] = [
    { shape: [1, 1], targets: [0] },
    { shape: [3, 7], targets: [6, 0, 3] },
    { shape: [2, 3, 5], targets: [4, -100, 1, 0, 2, -100] },
    { shape: [5], targets: [2] }, // unbatched (C) logits
  ];
  for (const { shape, targets } of cases) {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      for (const labelSmoothing of [0, 0.1]) {
        gradcheck(`crossEntropy ${shape} ${reduction} ε=${labelSmoothing}`, (x) => crossEntropy(x, targets, { reduction, labelSmoothing }), [f64(shape)]);
      }
    }
  }
});

test('mseLoss by hand and gradients', () => {
  const input = Tensor.from([1, 2, 3]);
  const target = Tensor.from([1, 0, 6]);
  assertClose(mseLoss(input, target).item(), (0 + 4 + 9) / 3, 1e-6, 'mean'); // float32 result
  assert.equal(mseLoss(input, target, 'sum').item(), 13);
  assert.deepEqual(mseLoss(input, target, 'none').toArray(), [0, 4, 9]);
  assert.throws(() => mseLoss(input, Tensor.zeros([4])), QkvShapeError);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    gradcheck(`mseLoss ${reduction}`, (x, y) => mseLoss(x, y, reduction), [f64([3, 5]), f64([3, 5])]);
  }
});

test('binaryCrossEntropyWithLogits by hand, stable for ±1e4, gradients', () => {
  // x = 0: loss = ln 2 for any y; x = ln 3, y = 1: −ln σ(ln 3) = −ln(3/4)
  const loss = binaryCrossEntropyWithLogits(Tensor.from([0, Math.log(3)], undefined, { dtype: 'float64' }), Tensor.from([0.3, 1], undefined, { dtype: 'float64' }), 'none');
  assertClose(loss.toArray()[0], Math.log(2), 1e-12, 'x = 0');
  assertClose(loss.toArray()[1], -Math.log(0.75), 1e-12, 'x = ln 3');
  const extreme = binaryCrossEntropyWithLogits(Tensor.from([1e4, -1e4, 1e4]), Tensor.from([1, 0, 0]), 'none').toArray();
  assert.deepEqual(extreme, [0, 0, 1e4]);
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    gradcheck(`bceWithLogits ${reduction}`, (x, y) => binaryCrossEntropyWithLogits(x, y, reduction), [f64([4, 3]), f64([4, 3], 0, 1)]);
  }
});

// ---- agreement with an independent implementation: TensorFlow.js ----------------------------
// tf.losses.softmaxCrossEntropy smooths labels the same way ((1 − ε)·onehot + ε/C); its loss and
// its autodiff gradient must match our fused forward and fused backward.

test('crossEntropy with label smoothing matches TensorFlow.js (loss and gradient)', async () => {
  const tf = await import('@tensorflow/tfjs');
  tf.env().set('PROD', true); // silences the "install tfjs-node" banner
  await tf.setBackend('cpu');
  const N = 6;
  const C = 5;
  const epsilon = 0.1;
  const logitValues = Array.from({ length: N * C }, () => rng.normal(0, 2));
  const targetIds = Array.from({ length: N }, () => rng.randint(C));

  const logits = Tensor.from(logitValues, [N, C], { dtype: 'float64', requiresGrad: true });
  const loss = crossEntropy(logits, targetIds, { labelSmoothing: epsilon });
  loss.backward();

  const tfLogits = tf.tensor2d(logitValues, [N, C]);
  const labels = tf.oneHot(tf.tensor1d(targetIds, 'int32'), C);
  const tfLoss = (x: TfTensor) => tf.losses.softmaxCrossEntropy(labels, x, undefined, epsilon, tf.Reduction.NONE).mean();
  const expectedLoss = tfLoss(tfLogits).dataSync()[0];
  const expectedGrad = Array.from(tf.grad(tfLoss)(tfLogits).dataSync());

  // TensorFlow.js computes in float32: agreement to ~1e-6 relative is all it can give.
  assertClose(loss.item(), expectedLoss, 1e-5, 'loss vs TensorFlow.js');
  logits.grad!.toArray().forEach((g, i) => assertClose(g, expectedGrad[i], 1e-6, `dlogits[${Math.floor(i / C)}, ${i % C}] vs TensorFlow.js`));
});
