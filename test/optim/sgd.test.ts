import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SGD, sgdUpdate, SGD_DEFAULTS } from '../../src/optim/sgd.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

// Every hand value below starts from p₀ = [1, −2] and feeds the gradients g₁, g₂, g₃ in turn.
const P0 = [1, -2];
const GRADS = [[0.5, -1], [-0.2, 0.3], [0.1, 0.1]];

/** Runs `optimizer.step()` once per gradient, returning the parameter after each step. */
function trajectory(param: Tensor, optimizer: { step(): void }, grads: number[][]): number[][] {
  return grads.map((g) => {
    param.grad = Tensor.from(g);
    optimizer.step();
    return param.toArray();
  });
}

function assertClose(actual: number[], expected: number[], label: string, tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  actual.forEach((value, i) => {
    const error = Math.abs(value - expected[i]);
    assert.ok(error <= tolerance * (1 + Math.abs(expected[i])), `${label}[${i}]: got ${value}, expected ${expected[i]} (error ${error.toExponential(2)})`);
  });
}

test('SGD: p ← p − η·g', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2] = trajectory(param, new SGD([param], { lr: 0.1 }), GRADS.slice(0, 2));
  // p₁ = [1 − 0.1·0.5, −2 − 0.1·(−1)] = [0.95, −1.9]
  assertClose(p1, [0.95, -1.9], 'p1');
  // p₂ = [0.95 − 0.1·(−0.2), −1.9 − 0.1·0.3] = [0.97, −1.93]
  assertClose(p2, [0.97, -1.93], 'p2');
});

test('SGD with momentum 0.9: the buffer starts as the first gradient', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2, p3] = trajectory(param, new SGD([param], { lr: 0.1, momentum: 0.9 }), GRADS);
  // b₁ = g₁ = [0.5, −1];                          p₁ = [1 − 0.05, −2 + 0.1] = [0.95, −1.9]
  assertClose(p1, [0.95, -1.9], 'p1');
  // b₂ = 0.9·b₁ + g₂ = [0.45 − 0.2, −0.9 + 0.3] = [0.25, −0.6]; p₂ = [0.95 − 0.025, −1.9 + 0.06] = [0.925, −1.84]
  assertClose(p2, [0.925, -1.84], 'p2');
  // b₃ = 0.9·b₂ + g₃ = [0.225 + 0.1, −0.54 + 0.1] = [0.325, −0.44]; p₃ = [0.925 − 0.0325, −1.84 + 0.044] = [0.8925, −1.796]
  assertClose(p3, [0.8925, -1.796], 'p3');
});

test('SGD with dampening 0.5: the first step is not dampened, later ones are', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2] = trajectory(param, new SGD([param], { lr: 0.1, momentum: 0.9, dampening: 0.5 }), GRADS.slice(0, 2));
  // b₁ = g₁ = [0.5, −1]; p₁ = [0.95, −1.9]
  assertClose(p1, [0.95, -1.9], 'p1');
  // b₂ = 0.9·b₁ + 0.5·g₂ = [0.45 − 0.1, −0.9 + 0.15] = [0.35, −0.75]; p₂ = [0.95 − 0.035, −1.9 + 0.075] = [0.915, −1.825]
  assertClose(p2, [0.915, -1.825], 'p2');
});

test('SGD with Nesterov momentum and weight decay 0.1', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2] = trajectory(param, new SGD([param], { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1 }), GRADS.slice(0, 2));
  // step 1: g = g₁ + 0.1·p₀ = [0.6, −1.2]; b₁ = g = [0.6, −1.2]
  //         look-ahead g + 0.9·b₁ = [0.6 + 0.54, −1.2 − 1.08] = [1.14, −2.28]
  //         p₁ = [1 − 0.114, −2 + 0.228] = [0.886, −1.772]
  assertClose(p1, [0.886, -1.772], 'p1');
  // step 2: g = g₂ + 0.1·p₁ = [−0.2 + 0.0886, 0.3 − 0.1772] = [−0.1114, 0.1228]
  //         b₂ = 0.9·b₁ + g = [0.54 − 0.1114, −1.08 + 0.1228] = [0.4286, −0.9572]
  //         look-ahead g + 0.9·b₂ = [−0.1114 + 0.38574, 0.1228 − 0.86148] = [0.27434, −0.73868]
  //         p₂ = [0.886 − 0.027434, −1.772 + 0.073868] = [0.858566, −1.698132]
  assertClose(p2, [0.858566, -1.698132], 'p2');
});

test('sgdUpdate works on raw arrays (the loop a WebAssembly kernel will replace)', () => {
  const param = new Float32Array([1, -2]);
  const buffer = new Float32Array(2);
  sgdUpdate(param, new Float32Array([0.5, -1]), buffer, { ...SGD_DEFAULTS, lr: 0.1, momentum: 0.9 }, 1);
  assertClose(Array.from(param), [0.95, -1.9], 'param');
  assertClose(Array.from(buffer), [0.5, -1], 'momentum buffer');
});

test('SGD: Nesterov needs momentum > 0 and no dampening', () => {
  const param = Tensor.zeros([2], { requiresGrad: true });
  assert.throws(() => new SGD([param], { nesterov: true }), (error: Error) => error instanceof QkvValueError && /Nesterov momentum needs momentum > 0/.test(error.message));
  assert.throws(() => new SGD([param], { nesterov: true, momentum: 0.9, dampening: 0.1 }), QkvValueError);
  assert.throws(() => new SGD([param], { lr: -1 }), (error: Error) => /lr must be a finite number ≥ 0, got -1/.test(error.message));
});

test('SGD: no momentum buffer is kept when momentum is 0', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const optimizer = new SGD([param], { lr: 0.1 });
  trajectory(param, optimizer, GRADS.slice(0, 1));
  assert.deepEqual(Object.keys(optimizer.stateOf(param)!.buffers), []);
  assert.equal(optimizer.stateOf(param)!.step, 1);
});
