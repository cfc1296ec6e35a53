import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear } from '../../src/nn/linear.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { QkvShapeError, QkvValueError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

function assertClose(actual: number[], expected: number[], tolerance: number, name: string): void {
  assert.equal(actual.length, expected.length, `${name}: length`);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `${name}[${i}]: ${v} vs ${expected[i]} (tolerance ${tolerance})`));
}

test('forward computes x·Wᵀ + b with W stored (out, in)', () => {
  const linear = new Linear(3, 2);
  linear.loadStateDict({
    weight: Tensor.from([[1, 2, 3], [-1, 0, 0.5]]), // (out 2, in 3)
    bias: Tensor.from([10, -10]),
  });
  const x = Tensor.from([[1, 1, 1], [2, -1, 4]]);
  // row 0: [1+2+3+10, −1+0+0.5−10] = [16, −10.5]; row 1: [2−2+12+10, −2+0+2−10] = [22, −10]
  assert.deepEqual(linear.forward(x).tolist(), [[16, -10.5], [22, -10]]);
});

test('forward applies to the last axis of any leading shape, and without bias', () => {
  const rng = new Rng(1);
  const linear = new Linear(4, 3, { bias: false, rng });
  assert.equal(linear.bias, null);
  assert.deepEqual(linear.namedParameters().map(([name]) => name), ['weight']);
  const x = Tensor.randn([2, 5, 4], { rng }); // (B, T, in)
  const y = linear.forward(x);
  assert.deepEqual(y.shape, [2, 5, 3]);
  const w = linear.weight.tolist() as number[][];
  const xs = x.toArray();
  const expected: number[] = [];
  for (let row = 0; row < 10; row++) {
    for (let o = 0; o < 3; o++) {
      let dot = 0;
      for (let i = 0; i < 4; i++) dot += xs[row * 4 + i] * w[o][i];
      expected.push(dot);
    }
  }
  assertClose(y.toArray(), expected, 1e-5, 'y');
});

test('a wrong input width names Linear, in_features and the shape', () => {
  assert.throws(() => new Linear(4, 2).forward(Tensor.zeros([3, 5])), (e: Error) =>
    e instanceof QkvShapeError && e.message === 'Linear: expected input with last dimension 4 (in_features), got (3,5)');
  assert.throws(() => new Linear(0, 2), QkvValueError);
});

test('gradients of x, weight and bias match finite differences (float64)', () => {
  const rng = new Rng(2);
  const linear = new Linear(5, 3, { dtype: 'float64', rng });
  const x = Tensor.randn([4, 5], { dtype: 'float64', rng, requiresGrad: true });
  const bias = linear.bias;
  assert.ok(bias !== null);
  const result = gradcheck('Linear', (input) => linear.forward(input), [x, linear.weight, bias]);
  assert.equal(result.checked, 4 * 5 + 3 * 5 + 3);
  // A batched (B, T, C) input: the weight gradient sums over both leading axes.
  const x3 = Tensor.randn([2, 3, 5], { dtype: 'float64', rng, requiresGrad: true });
  gradcheck('Linear (B,T,C)', (input) => linear.forward(input), [x3, linear.weight, bias]);
});

test('backward leaves gradients on the parameters in their own shapes', () => {
  const linear = new Linear(3, 2, { rng: new Rng(3) });
  linear.forward(Tensor.ones([4, 3])).sum().backward();
  assert.deepEqual(linear.weight.grad?.shape, [2, 3]);
  assert.deepEqual(linear.weight.grad?.toArray(), [4, 4, 4, 4, 4, 4]); // Σ over 4 rows of x = 1
  assert.deepEqual(linear.bias?.grad?.toArray(), [4, 4]);
});

test('default initialisation is PyTorch\'s: weight and bias in U(−1/√in, 1/√in)', () => {
  const inFeatures = 300;
  const linear = new Linear(inFeatures, 200, { rng: new Rng(4) });
  const bound = 1 / Math.sqrt(inFeatures);
  const weights = linear.weight.toArray();
  assert.ok(weights.every((v) => Math.abs(v) <= bound * (1 + 1e-6)), 'weights inside the bound');
  assert.ok(Math.max(...weights) > 0.999 * bound && Math.min(...weights) < -0.999 * bound, 'weights reach the bound');
  const variance = weights.reduce((s, v) => s + v * v, 0) / weights.length;
  // U(−b, b) has variance b²/3; 60 000 draws: within 2%.
  assert.ok(Math.abs(variance / (bound * bound / 3) - 1) < 0.02, `weight variance ${variance} vs ${bound * bound / 3}`);
  assert.ok(linear.bias!.toArray().every((v) => Math.abs(v) <= bound * (1 + 1e-6)), 'bias inside the bound');
  // Same seed, same weights.
  assert.deepEqual(new Linear(inFeatures, 200, { rng: new Rng(4) }).weight.toArray(), weights);
});
