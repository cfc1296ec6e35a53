import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveLogSoftmaxWithLoss } from '../../src/nn/adaptive-softmax.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { QkvShapeError, QkvValueError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

/** x (C) · Wᵀ with W (out, in) as nested arrays: the plain-array reference of a bias-free Linear. */
function project(x: number[], weight: number[][]): number[] {
  return weight.map((row) => row.reduce((sum, w, i) => sum + w * x[i], 0));
}

function logSoftmaxOf(logits: number[]): number[] {
  const max = Math.max(...logits);
  const logSum = Math.log(logits.reduce((sum, v) => sum + Math.exp(v - max), 0)) + max;
  return logits.map((v) => v - logSum);
}

/**
 * log p(w | x) from Grave et al.'s definition, written independently of the module: head
 * log-softmax for a frequent token, head's cluster log-prob + the cluster's log-softmax otherwise.
 */
function referenceLogProb(module: AdaptiveLogSoftmaxWithLoss, x: number[], id: number): number {
  const head = logSoftmaxOf(project(x, module.head.weight.tolist() as number[][]));
  if (id < module.shortlistSize) return head[id];
  const cutoffs = module.cutoffs;
  let cluster = 0;
  while (id >= cutoffs[cluster + 1]) cluster++;
  const [down, up] = [...module.tail.at(cluster)] as unknown as { weight: Tensor }[];
  const hidden = project(x, down.weight.tolist() as number[][]);
  const tail = logSoftmaxOf(project(hidden, up.weight.tolist() as number[][]));
  return head[module.shortlistSize + cluster] + tail[id - cutoffs[cluster]];
}

test('log-probabilities over the whole vocabulary sum to 1 and equal the definition', () => {
  const rng = new Rng(3);
  const module = new AdaptiveLogSoftmaxWithLoss(8, 40, [6, 15, 28], { divValue: 2, rng });
  const x = Tensor.randn([5, 8], { rng }); // (N, C)
  const logProbs = module.logProb(x); // (N, V)
  assert.deepEqual(logProbs.shape, [5, 40]);
  const rows = logProbs.tolist() as number[][];
  const xs = x.tolist() as number[][];
  rows.forEach((row, n) => {
    const total = row.reduce((sum, v) => sum + Math.exp(v), 0);
    assert.ok(Math.abs(total - 1) < 1e-5, `row ${n}: Σ p = ${total}`);
    for (const id of [0, 5, 6, 14, 15, 27, 28, 39]) {
      const expected = referenceLogProb(module, xs[n], id);
      assert.ok(Math.abs(row[id] - expected) < 1e-5, `row ${n}, token ${id}: ${row[id]} vs ${expected}`);
    }
  });
});

test('forward gives log p(target) per row equal to logProb, and the mean NLL as the loss', () => {
  const rng = new Rng(4);
  const module = new AdaptiveLogSoftmaxWithLoss(8, 40, [6, 15, 28], { rng });
  const x = Tensor.randn([7, 8], { rng });
  const targets = [0, 39, 6, 5, 20, 28, 14]; // head, every cluster, both edges of each
  const { output, loss } = module.forward(x, targets);
  const full = module.logProb(x).tolist() as number[][];
  const expected = targets.map((id, n) => full[n][id]);
  output.toArray().forEach((v, n) => assert.ok(Math.abs(v - expected[n]) < 1e-5, `row ${n}: ${v} vs ${expected[n]}`));
  const meanNll = -expected.reduce((a, b) => a + b, 0) / targets.length;
  assert.ok(Math.abs(loss.item() - meanNll) < 1e-5, `loss ${loss.item()} vs ${meanNll}`);
  assert.deepEqual(module.predict(x), full.map((row) => row.indexOf(Math.max(...row))));
});

test('gradients of the loss match finite differences for the input and every projection', () => {
  const rng = new Rng(5);
  const module = new AdaptiveLogSoftmaxWithLoss(6, 20, [4, 10], { divValue: 2, headBias: true, rng }).to('float64');
  const x = Tensor.randn([6, 6], { rng, dtype: 'float64', requiresGrad: true });
  const targets = [1, 12, 4, 19, 3, 9];
  gradcheck('adaptive softmax loss', () => module.forward(x, targets).loss, [x, ...module.parameters()]);
  gradcheck('adaptive softmax logProb', () => module.logProb(x), [x, ...module.parameters()]);
});

test('parameter names and shapes follow PyTorch nn.AdaptiveLogSoftmaxWithLoss', () => {
  const module = new AdaptiveLogSoftmaxWithLoss(64, 1000, [100, 400], { divValue: 4 });
  const shapes = Object.fromEntries(module.namedParameters().map(([name, p]) => [name, p.shape]));
  assert.deepEqual(shapes, {
    'head.weight': [102, 64], // 100 frequent tokens + 2 cluster logits
    'tail.0.0.weight': [16, 64], // 64 / 4
    'tail.0.1.weight': [300, 16],
    'tail.1.0.weight': [4, 64], // 64 / 16
    'tail.1.1.weight': [600, 4],
  });
});

test('bad cutoffs, shapes and targets give errors that name them', () => {
  assert.throws(() => new AdaptiveLogSoftmaxWithLoss(8, 40, [10, 5]), QkvValueError);
  assert.throws(() => new AdaptiveLogSoftmaxWithLoss(8, 40, [10, 40]), /cutoffs must be .* in \(0, 40\)/);
  const module = new AdaptiveLogSoftmaxWithLoss(8, 40, [10]);
  assert.throws(() => module.forward(Tensor.zeros([2, 7]), [0, 1]), (e: Error) => e instanceof QkvShapeError && /\(N, 8\), got \(2,7\)/.test(e.message));
  assert.throws(() => module.forward(Tensor.zeros([2, 8]), [0]), /1 targets for input \(2,8\)/);
  assert.throws(() => module.forward(Tensor.zeros([2, 8]), [0, 40]), /target 40 at row 1 is outside \[0, 40\)/);
});
