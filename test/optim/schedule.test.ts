import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LRScheduler, constantSchedule, warmupCosineSchedule, warmupLinearSchedule } from '../../src/optim/schedule.ts';
import { SGD } from '../../src/optim/sgd.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

// Warm-up for 10 steps to maxLr 1, then decay to minLr 0.1 at step 110 (100 decay steps).
const OPTIONS = { maxLr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };

function assertLrs(schedule: (step: number) => number, expected: [step: number, lr: number][]): void {
  for (const [step, lr] of expected) {
    const actual = schedule(step);
    assert.ok(Math.abs(actual - lr) < 1e-12, `step ${step}: got ${actual}, expected ${lr}`);
  }
}

test('constant schedule', () => {
  assertLrs(constantSchedule(0.3), [[0, 0.3], [1, 0.3], [10_000, 0.3]]);
});

test('warm-up then cosine decay at chosen steps', () => {
  assertLrs(warmupCosineSchedule(OPTIONS), [
    [0, 0.1], // 1·(0 + 1)/10: the first step already moves
    [4, 0.5], // 1·5/10
    [9, 1], // the last warm-up step reaches the peak
    [10, 1], // progress 0: ½·(1 + cos 0) = 1
    [35, 0.1 + 0.45 * (1 + Math.SQRT1_2)], // progress ¼: 0.1 + ½·(1 + cos(π/4))·0.9 = 0.868198…
    [60, 0.55], // progress ½: 0.1 + ½·(1 + cos(π/2))·0.9
    [110, 0.1], // progress 1: the floor
    [5000, 0.1], // and it stays there
  ]);
});

test('warm-up then linear decay at chosen steps', () => {
  assertLrs(warmupLinearSchedule(OPTIONS), [
    [0, 0.1],
    [9, 1],
    [10, 1],
    [35, 0.775], // 1 − ¼·0.9
    [60, 0.55], // 1 − ½·0.9
    [109, 0.109], // 1 − 0.99·0.9
    [110, 0.1],
    [200, 0.1],
  ]);
});

test('no warm-up starts at the peak; minLr defaults to 0', () => {
  assertLrs(warmupCosineSchedule({ maxLr: 2, warmupSteps: 0, totalSteps: 4 }), [[0, 2], [2, 1], [4, 0]]);
});

test('schedules reject inconsistent options and bad steps', () => {
  assert.throws(() => warmupCosineSchedule({ ...OPTIONS, minLr: 2 }), (error: Error) => error instanceof QkvValueError && /minLr 2 is above maxLr 1/.test(error.message));
  assert.throws(() => warmupLinearSchedule({ ...OPTIONS, totalSteps: 5 }), /totalSteps must be an integer ≥ warmupSteps \(10\), got 5/);
  assert.throws(() => warmupCosineSchedule(OPTIONS)(-1), /step must be an integer ≥ 0, got -1/);
  assert.throws(() => constantSchedule(-0.1), /lr must be a finite number ≥ 0/);
});

test('LRScheduler sets the rate for step 0 at once and the optimiser steps with it', () => {
  const param = Tensor.zeros([1], { requiresGrad: true });
  const optimizer = new SGD([param], { lr: 123 });
  const scheduler = new LRScheduler(optimizer, warmupLinearSchedule(OPTIONS));
  assert.equal(optimizer.lr, 0.1);
  for (let s = 0; s < 3; s++) {
    param.grad = Tensor.ones([1]);
    optimizer.step();
    scheduler.step();
  }
  // With g = 1 the parameter moves by the sum of the rates used: 0.1 + 0.2 + 0.3
  assert.ok(Math.abs(param.data[0] - -0.6) < 1e-6, `parameter ${param.data[0]}, expected -0.6`);
  assert.equal(scheduler.currentStep, 3);
  assert.ok(Math.abs(optimizer.lr - 0.4) < 1e-12);
});

test('LRScheduler takes one schedule per group', () => {
  const [a, b] = [Tensor.zeros([1], { requiresGrad: true }), Tensor.zeros([1], { requiresGrad: true })];
  const optimizer = new SGD([{ params: [a] }, { params: [b] }]);
  const scheduler = new LRScheduler(optimizer, [constantSchedule(0.5), warmupLinearSchedule(OPTIONS)]);
  scheduler.step();
  assert.deepEqual(scheduler.lrs, [0.5, 0.2]);
  assert.throws(() => new LRScheduler(optimizer, [constantSchedule(1)]), /got 1 schedules for 2 parameter groups/);
});

test('LRScheduler state resumes the schedule where it stopped', () => {
  const makeOptimizer = () => new SGD([Tensor.zeros([1], { requiresGrad: true })]);
  const schedule = warmupCosineSchedule(OPTIONS);
  const uninterrupted = new LRScheduler(makeOptimizer(), schedule);
  const expected: number[] = [];
  for (let s = 0; s < 20; s++) {
    uninterrupted.step();
    if (s >= 7) expected.push(uninterrupted.lrs[0]);
  }

  const first = new LRScheduler(makeOptimizer(), schedule);
  for (let s = 0; s < 7; s++) first.step();
  const optimizer = makeOptimizer();
  const resumed = new LRScheduler(optimizer, schedule);
  resumed.loadStateDict(structuredClone(first.stateDict()));
  assert.equal(optimizer.lr, schedule(7));
  const actual: number[] = [];
  for (let s = 7; s < 20; s++) {
    resumed.step();
    actual.push(resumed.lrs[0]);
  }
  assert.deepEqual(actual, expected);
  assert.throws(() => resumed.loadStateDict({ step: 1.5 }), /step must be an integer ≥ 0, got 1.5/);
});
