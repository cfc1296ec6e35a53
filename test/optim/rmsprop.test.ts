import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RMSProp, rmspropUpdate, RMSPROP_DEFAULTS } from '../../src/optim/rmsprop.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

// Every hand value below starts from p₀ = [1, −2] with g₁ = [0.5, −1], then g₂ = [−0.2, 0.3];
// η = 0.1, α = 0.9, ε = 1e-8.
const P0 = [1, -2];
const GRADS = [[0.5, -1], [-0.2, 0.3]];
const EPS = 1e-8;

function trajectory(param: Tensor, optimizer: { step(): void }, grads: number[][]): number[][] {
  return grads.map((g) => {
    param.grad = Tensor.from(g);
    optimizer.step();
    return param.toArray();
  });
}

function assertClose(actual: ArrayLike<number>, expected: number[], label: string, tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    assert.ok(error <= tolerance * (1 + Math.abs(expected[i])), `${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (error ${error.toExponential(2)})`);
  }
}

test('RMSProp: p ← p − η·g/(√s + ε)', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2] = trajectory(param, new RMSProp([param], { lr: 0.1, alpha: 0.9 }), GRADS);
  // step 1: s = 0.1·g₁² = [0.025, 0.1]
  const p1Hand = [1 - (0.1 * 0.5) / (Math.sqrt(0.025) + EPS), -2 - (0.1 * -1) / (Math.sqrt(0.1) + EPS)];
  assertClose(p1, p1Hand, 'p1');
  // step 2: s = 0.9·[0.025, 0.1] + 0.1·[0.04, 0.09] = [0.0265, 0.099]
  const p2Hand = [p1Hand[0] - (0.1 * -0.2) / (Math.sqrt(0.0265) + EPS), p1Hand[1] - (0.1 * 0.3) / (Math.sqrt(0.099) + EPS)];
  assertClose(p2, p2Hand, 'p2');
});

test('RMSProp centred divides by √(s − a²), an estimate of the standard deviation', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2] = trajectory(param, new RMSProp([param], { lr: 0.1, alpha: 0.9, centered: true }), GRADS);
  // step 1: s = [0.025, 0.1]; a = 0.1·g₁ = [0.05, −0.1]; s − a² = [0.0225, 0.09]; √ = [0.15, 0.3]
  const p1Hand = [1 - (0.1 * 0.5) / (0.15 + EPS), -2 - (0.1 * -1) / (0.3 + EPS)];
  assertClose(p1, p1Hand, 'p1');
  // step 2: s = [0.0265, 0.099]; a = 0.9·[0.05, −0.1] + 0.1·[−0.2, 0.3] = [0.025, −0.06]
  //         s − a² = [0.0265 − 0.000625, 0.099 − 0.0036] = [0.025875, 0.0954]
  const p2Hand = [p1Hand[0] - (0.1 * -0.2) / (Math.sqrt(0.025875) + EPS), p1Hand[1] - (0.1 * 0.3) / (Math.sqrt(0.0954) + EPS)];
  assertClose(p2, p2Hand, 'p2');
});

test('RMSProp with momentum 0.9 accumulates the normalised gradient', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2] = trajectory(param, new RMSProp([param], { lr: 0.1, alpha: 0.9, momentum: 0.9 }), GRADS);
  // step 1: b = g₁/(√s + ε) with s = [0.025, 0.1]; p₁ = p₀ − 0.1·b
  const b1 = [0.5 / (Math.sqrt(0.025) + EPS), -1 / (Math.sqrt(0.1) + EPS)];
  const p1Hand = [1 - 0.1 * b1[0], -2 - 0.1 * b1[1]];
  assertClose(p1, p1Hand, 'p1');
  // step 2: b = 0.9·b₁ + g₂/(√s + ε) with s = [0.0265, 0.099]
  const b2 = [0.9 * b1[0] + -0.2 / (Math.sqrt(0.0265) + EPS), 0.9 * b1[1] + 0.3 / (Math.sqrt(0.099) + EPS)];
  assertClose(p2, [p1Hand[0] - 0.1 * b2[0], p1Hand[1] - 0.1 * b2[1]], 'p2');
});

test('RMSProp with weightDecay 0.1 adds λ·p to the gradient', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1] = trajectory(param, new RMSProp([param], { lr: 0.1, alpha: 0.9, weightDecay: 0.1 }), GRADS.slice(0, 1));
  // g = g₁ + 0.1·p₀ = [0.6, −1.2]; s = 0.1·g² = [0.036, 0.144]
  assertClose(p1, [1 - (0.1 * 0.6) / (Math.sqrt(0.036) + EPS), -2 - (0.1 * -1.2) / (Math.sqrt(0.144) + EPS)], 'p1');
});

test('rmspropUpdate works on raw arrays; buffers exist only for the options in use', () => {
  const param = new Float32Array([1, -2]);
  const squareAvg = new Float32Array(2);
  rmspropUpdate(param, new Float32Array([0.5, -1]), squareAvg, null, null, { ...RMSPROP_DEFAULTS, lr: 0.1, alpha: 0.9 });
  assertClose(squareAvg, [0.025, 0.1], 'squareAvg');

  const tensor = Tensor.from(P0, undefined, { requiresGrad: true });
  const plain = new RMSProp([tensor]);
  trajectory(tensor, plain, GRADS.slice(0, 1));
  assert.deepEqual(Object.keys(plain.stateOf(tensor)!.buffers), ['squareAvg']);
  const full = new RMSProp([tensor], { centered: true, momentum: 0.5 });
  trajectory(tensor, full, GRADS.slice(0, 1));
  assert.deepEqual(Object.keys(full.stateOf(tensor)!.buffers), ['squareAvg', 'gradAvg', 'momentumBuffer']);
});

test('RMSProp defaults are PyTorch\'s and bad values are rejected', () => {
  const a = Tensor.zeros([1], { requiresGrad: true });
  const group = new RMSProp([a]).paramGroups[0];
  assert.deepEqual([group.lr, group.alpha, group.eps, group.weightDecay, group.momentum, group.centered], [0.01, 0.99, 1e-8, 0, 0, false]);
  assert.throws(() => new RMSProp([a], { alpha: 1.5 }), (error: Error) => error instanceof QkvValueError && /alpha must be in \[0, 1\)/.test(error.message));
});
