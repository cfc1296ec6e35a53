import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradientAccumulator } from '../../src/optim/accumulate.ts';
import { Linear } from '../../src/nn/linear.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

const rng = new Rng(3);
const inputs = Tensor.randn([8, 3], { rng }); // (B=8, 3)
const targets = Tensor.randn([8, 2], { rng }); // (B=8, 2)

function makeModel(): { hidden: Linear; output: Linear; parameters: Tensor[] } {
  const init = new Rng(0);
  const hidden = new Linear(3, 5, { rng: init });
  const output = new Linear(5, 2, { rng: init });
  return { hidden, output, parameters: [...hidden.parameters(), ...output.parameters()] };
}

/** Mean squared error over a batch (mean over rows and outputs). */
function loss(model: ReturnType<typeof makeModel>, x: Tensor, y: Tensor): Tensor {
  const error = model.output.forward(model.hidden.forward(x).tanh()).sub(y);
  return error.mul(error).mean();
}

test('4 micro-batches of 2 give the gradient of one batch of 8', () => {
  const full = makeModel();
  loss(full, inputs, targets).backward();

  const micro = makeModel();
  const accumulator = new GradientAccumulator(4);
  const stepNow: boolean[] = [];
  for (let k = 0; k < 4; k++) {
    stepNow.push(accumulator.backward(loss(micro, inputs.narrow(0, 2 * k, 2), targets.narrow(0, 2 * k, 2))));
  }
  assert.deepEqual(stepNow, [false, false, false, true]);

  full.parameters.forEach((param, p) => {
    const expected = param.grad!.toArray();
    const actual = micro.parameters[p].grad!.toArray();
    expected.forEach((value, i) => {
      const error = Math.abs(actual[i] - value);
      assert.ok(error < 1e-6 * (1 + Math.abs(value)), `parameter ${p} grad[${i}]: accumulated ${actual[i]}, full batch ${value} (error ${error.toExponential(2)})`);
    });
  });
});

test('the accumulator counts micro-steps across optimiser steps and resumes', () => {
  const accumulator = new GradientAccumulator(3);
  assert.equal(accumulator.lossScale, 1 / 3);
  const pattern = Array.from({ length: 7 }, () => accumulator.advance());
  assert.deepEqual(pattern, [false, false, true, false, false, true, false]);
  assert.equal(accumulator.pendingMicroSteps, 1);

  const resumed = new GradientAccumulator(3);
  resumed.loadStateDict(accumulator.stateDict());
  assert.deepEqual([resumed.advance(), resumed.advance()], [false, true]);
  assert.throws(() => new GradientAccumulator(2).loadStateDict(accumulator.stateDict()), /the state is for 3 accumulation steps, this accumulator has 2/);
  assert.throws(() => resumed.loadStateDict({ accumulationSteps: 3, microSteps: 3 }), /microSteps must be an integer in \[0, 3\), got 3/);
});

test('scaleLoss multiplies by 1/accumulationSteps and is the identity for 1', () => {
  const value = Tensor.scalar(6, { requiresGrad: true });
  assert.equal(new GradientAccumulator(4).scaleLoss(value).item(), 1.5);
  assert.equal(new GradientAccumulator(1).scaleLoss(value), value);
  assert.throws(() => new GradientAccumulator(0), (error: Error) => error instanceof QkvValueError && /accumulationSteps must be an integer ≥ 1, got 0/.test(error.message));
});
