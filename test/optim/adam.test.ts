import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, adamUpdate, ADAM_DEFAULTS } from '../../src/optim/adam.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

// Every hand value below starts from p₀ = [1, −2] with g₁ = [0.5, −1], then g₂ = [−0.2, 0.3];
// η = 0.1, β = (0.9, 0.999), ε = 1e-8. Bias corrections: 1 − β₁ = 0.1, 1 − β₂ = 0.001 at
// step 1; 1 − 0.9² = 0.19, 1 − 0.999² = 0.001999 at step 2.
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

test('Adam: the first two bias-corrected steps', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const optimizer = new Adam([param], { lr: 0.1 });
  const [p1, p2] = trajectory(param, optimizer, GRADS);
  // step 1: m = 0.1·g₁ = [0.05, −0.1]; v = 0.001·g₁² = [0.00025, 0.001]
  //         m̂ = m/0.1 = [0.5, −1]; √v̂ = √(v/0.001) = [0.5, 1]: the first step is η·sign(g)
  const p1Hand = [1 - (0.1 * 0.5) / (0.5 + EPS), -2 - (0.1 * -1) / (1 + EPS)];
  assertClose(p1, p1Hand, 'p1');
  // step 2: m = 0.9·[0.05, −0.1] + 0.1·[−0.2, 0.3] = [0.025, −0.06]
  //         v = 0.999·[0.00025, 0.001] + 0.001·[0.04, 0.09] = [0.00028975, 0.001089]
  const p2Hand = [
    p1Hand[0] - (0.1 * (0.025 / 0.19)) / (Math.sqrt(0.00028975 / 0.001999) + EPS),
    p1Hand[1] - (0.1 * (-0.06 / 0.19)) / (Math.sqrt(0.001089 / 0.001999) + EPS),
  ];
  assertClose(p2, p2Hand, 'p2');
  const state = optimizer.stateOf(param)!;
  assert.equal(state.step, 2);
  assertClose(state.buffers.expAvg, [0.025, -0.06], 'expAvg');
  assertClose(state.buffers.expAvgSq, [0.00028975, 0.001089], 'expAvgSq');
});

test('Adam with weightDecay 0.1 adds λ·p to the gradient (L2, coupled)', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2] = trajectory(param, new Adam([param], { lr: 0.1, weightDecay: 0.1 }), GRADS);
  // step 1: g = g₁ + 0.1·p₀ = [0.6, −1.2]; m̂ = g, √v̂ = |g|, so p₁ = p₀ − 0.1·g/(|g| + ε) ≈ [0.9, −1.9]
  const p1Hand = [1 - (0.1 * 0.6) / (0.6 + EPS), -2 - (0.1 * -1.2) / (1.2 + EPS)];
  assertClose(p1, p1Hand, 'p1');
  // step 2: g = g₂ + 0.1·p₁ = [−0.2 + 0.09, 0.3 − 0.19] = [−0.11, 0.11]
  //         m = 0.9·[0.06, −0.12] + 0.1·[−0.11, 0.11] = [0.043, −0.097]
  //         v = 0.999·[0.00036, 0.00144] + 0.001·[0.0121, 0.0121] = [0.00037174, 0.00145066]
  const p2Hand = [
    p1Hand[0] - (0.1 * (0.043 / 0.19)) / (Math.sqrt(0.00037174 / 0.001999) + EPS),
    p1Hand[1] - (0.1 * (-0.097 / 0.19)) / (Math.sqrt(0.00145066 / 0.001999) + EPS),
  ];
  assertClose(p2, p2Hand, 'p2');
});

test('AdamW with weightDecay 0.1 shrinks p by (1 − η·λ) before the Adam step (decoupled)', () => {
  const param = Tensor.from(P0, undefined, { requiresGrad: true });
  const [p1, p2] = trajectory(param, new AdamW([param], { lr: 0.1, weightDecay: 0.1 }), GRADS);
  // step 1: p ← p₀·(1 − 0.1·0.1) = [0.99, −1.98]; the moments see g₁ alone, so the step is 0.1·sign(g₁)
  const p1Hand = [0.99 - (0.1 * 0.5) / (0.5 + EPS), -1.98 - (0.1 * -1) / (1 + EPS)];
  assertClose(p1, p1Hand, 'p1');
  // step 2: p ← p₁·0.99; m and v as for Adam without decay: [0.025, −0.06] and [0.00028975, 0.001089]
  const p2Hand = [
    p1Hand[0] * 0.99 - (0.1 * (0.025 / 0.19)) / (Math.sqrt(0.00028975 / 0.001999) + EPS),
    p1Hand[1] * 0.99 - (0.1 * (-0.06 / 0.19)) / (Math.sqrt(0.001089 / 0.001999) + EPS),
  ];
  assertClose(p2, p2Hand, 'p2');
});

test('AdamW defaults to weightDecay 0.01, Adam to 0 (as PyTorch)', () => {
  const a = Tensor.zeros([1], { requiresGrad: true });
  assert.equal(new AdamW([a]).paramGroups[0].weightDecay, 0.01);
  assert.equal(new Adam([a]).paramGroups[0].weightDecay, 0);
  assert.deepEqual(new AdamW([a], { lr: 3e-4 }).paramGroups[0].betas, [0.9, 0.999]);
  assert.equal(new AdamW([a], { weightDecay: undefined }).paramGroups[0].weightDecay, 0.01);
});

test('adamUpdate works on raw arrays (the loop a WebAssembly kernel will replace)', () => {
  const param = new Float32Array([1, -2]);
  const m = new Float32Array(2);
  const v = new Float32Array(2);
  adamUpdate(param, new Float32Array([0.5, -1]), m, v, { ...ADAM_DEFAULTS, lr: 0.1 }, 1, false);
  assertClose(param, [0.9, -1.9], 'param');
  assertClose(m, [0.05, -0.1], 'm');
  assertClose(v, [0.00025, 0.001], 'v');
});

test('Adam rejects betas outside [0, 1) and negative eps', () => {
  const a = Tensor.zeros([1], { requiresGrad: true });
  assert.throws(() => new Adam([a], { betas: [0.9, 1] }), (error: Error) => error instanceof QkvValueError && /betas\[1\] must be in \[0, 1\), got 1/.test(error.message));
  assert.throws(() => new AdamW([a], { eps: -1 }), /AdamW: eps must be a finite number ≥ 0/);
});
