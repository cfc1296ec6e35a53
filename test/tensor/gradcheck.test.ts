import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { attachGrad } from '../../src/tensor/autograd.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { QkvError } from '../../src/tensor/errors.ts';

test('gradcheck passes a correct gradient and reports what it checked', () => {
  const x = Tensor.from([0.3, -1.2, 2], [3], { dtype: 'float64', requiresGrad: true });
  const result = gradcheck('tanh', (t) => t.tanh(), [x]);
  assert.equal(result.checked, 3);
  assert.ok(result.maxRelativeError < 1e-6);
});

test('gradcheck catches a wrong backward and names the op, input and element', () => {
  // x² with a deliberately wrong derivative (x instead of 2x).
  const wrongSquare = (t: Tensor): Tensor => {
    const out = new Tensor(Float64Array.from(t.toArray().map((v) => v * v)), t.shape);
    return attachGrad(out, 'wrongSquare', [t], (grad) => [grad.mul(t)]);
  };
  const x = Tensor.from([0.5, 1.5], [2], { dtype: 'float64', requiresGrad: true });
  assert.throws(() => gradcheck('wrongSquare', wrongSquare, [x]), (error: Error) =>
    error instanceof QkvError && /gradcheck wrongSquare: input 0 \(2\) element 0: analytic .* vs numeric/.test(error.message));
});

test('gradcheck refuses float32 inputs (finite differences need float64)', () => {
  assert.throws(() => gradcheck('x', (t) => t, [Tensor.zeros([2], { requiresGrad: true })]), /must be float64/);
});
