import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Adam, AdamW, GradientAccumulator, LRScheduler, RMSProp, SGD, clipGradNorm, warmupCosineSchedule,
  type Hyperparameters, type Optimizer, type OptimizerStateDict,
} from '../../src/optim/index.ts';
import { Linear } from '../../src/nn/linear.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { QkvShapeError, QkvValueError } from '../../src/tensor/errors.ts';

// ---- a toy regression: a 2→16→1 tanh MLP fits y = sin(2x₁)·cos(2x₂) on 64 fixed points ------
// The targets have variance ≈ 0.21, so an MSE of 0.01 means the net explains ~95% of it.

const dataRng = new Rng(1);
const inputs = Tensor.rand([64, 2], { rng: dataRng, low: -1, high: 1 }); // (64, 2)
const targets = Tensor.from(
  Array.from({ length: 64 }, (_, i) => Math.sin(2 * inputs.data[2 * i]) * Math.cos(2 * inputs.data[2 * i + 1])),
  [64, 1],
);

class Mlp {
  readonly hidden: Linear;
  readonly output: Linear;
  constructor(seed: number) {
    const rng = new Rng(seed);
    this.hidden = new Linear(2, 16, { rng });
    this.output = new Linear(16, 1, { rng });
  }
  parameters(): Tensor[] {
    return [...this.hidden.parameters(), ...this.output.parameters()];
  }
  /** Mean squared error on the whole toy set, with backward run; returns the loss value. */
  lossAndBackward(): number {
    const error = this.output.forward(this.hidden.forward(inputs).tanh()).sub(targets); // (64, 1)
    const loss = error.mul(error).mean();
    loss.backward();
    return loss.item();
  }
}

type AnyOptimizer = Optimizer<Hyperparameters>;

function train(model: Mlp, optimizer: AnyOptimizer, steps: number): number {
  let loss = NaN;
  for (let s = 0; s < steps; s++) {
    loss = model.lossAndBackward();
    optimizer.step();
    optimizer.zeroGrad();
  }
  return loss;
}

const OPTIMIZERS: [string, (params: Tensor[]) => AnyOptimizer][] = [
  ['SGD (momentum 0.9)', (params) => new SGD(params, { lr: 0.1, momentum: 0.9 })],
  ['SGD (Nesterov, weight decay)', (params) => new SGD(params, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
  ['Adam', (params) => new Adam(params, { lr: 0.02 })],
  ['AdamW', (params) => new AdamW(params, { lr: 0.02, weightDecay: 0.01 })],
  ['RMSProp', (params) => new RMSProp(params, { lr: 0.005 })],
  ['RMSProp (centred, momentum 0.5)', (params) => new RMSProp(params, { lr: 0.002, centered: true, momentum: 0.5 })],
];

for (const [name, make] of OPTIMIZERS) {
  test(`${name} trains the 2→16→1 MLP to MSE < 0.01 in 300 steps (seed 0; starts at 0.50)`, () => {
    const model = new Mlp(0);
    const first = model.lossAndBackward();
    model.parameters().forEach((param) => (param.grad = null));
    const last = train(model, make(model.parameters()), 300);
    assert.ok(Math.abs(first - 0.4993) < 1e-3, `initial loss ${first}, expected 0.4993 for seed 0`);
    assert.ok(last < 0.01, `${name}: loss after 300 steps is ${last}, expected < 0.01`);
  });

  test(`${name}: stateDict / loadStateDict resume bit for bit`, () => {
    const uninterrupted = new Mlp(0);
    train(uninterrupted, make(uninterrupted.parameters()), 10);

    const resumed = new Mlp(0);
    const before = make(resumed.parameters());
    train(resumed, before, 5);
    // structuredClone stands in for a trip through a checkpoint file.
    const saved = structuredClone(before.stateDict());
    const after = make(resumed.parameters());
    after.lr = 123; // must be overwritten by the saved hyperparameters
    after.loadStateDict(saved);
    train(resumed, after, 5);

    resumed.parameters().forEach((param, i) =>
      assert.deepEqual(param.data, uninterrupted.parameters()[i].data, `parameter ${i} differs after resume`));
  });
}

// ---- agreement with an independent implementation: TensorFlow.js's optimisers ---------------
// The hand-worked tests above pin the first steps; this follows 25 steps on a noisy quadratic
// (g = 2·(p − target) + noise, so each step depends on the last), where a slip in the bias
// correction or the momentum bookkeeping at step 3+ would show.

test('SGD, momentum, Nesterov, Adam and RMSProp follow TensorFlow.js for 25 steps', async () => {
  const tf = await import('@tensorflow/tfjs');
  tf.env().set('PROD', true); // silences the "install tfjs-node" banner
  await tf.setBackend('cpu');
  const size = 6;
  const steps = 25;
  const rng = new Rng(5);
  const start = Array.from({ length: size }, () => rng.normal());
  const target = Array.from({ length: size }, () => rng.normal());
  const noise = Array.from({ length: steps }, () => Array.from({ length: size }, () => rng.normal(0, 0.3)));
  const gradientAt = (p: ArrayLike<number>, step: number) => Array.from({ length: size }, (_, i) => 2 * (p[i] - target[i]) + noise[step][i]);

  const ours = (make: (params: Tensor[]) => AnyOptimizer): number[] => {
    const param = Tensor.from(start, undefined, { requiresGrad: true });
    const optimizer = make([param]);
    for (let step = 0; step < steps; step++) {
      param.grad = Tensor.from(gradientAt(param.data, step));
      optimizer.step();
    }
    return param.toArray();
  };
  const theirs = (optimizer: InstanceType<typeof tf.Optimizer>): number[] => {
    const param = tf.variable(tf.tensor1d(start));
    for (let step = 0; step < steps; step++) optimizer.applyGradients({ [param.name]: tf.tensor1d(gradientAt(param.dataSync(), step)) });
    return Array.from(param.dataSync());
  };
  // TensorFlow.js puts RMSProp's ε inside the square root, PyTorch (and qkv) outside: compare at ε = 0.
  // Its Adam computes βᵗ by repeated float32 multiplication, hence the looser tolerance there.
  const cases: [string, number[], number[], number][] = [
    ['SGD', ours((params) => new SGD(params, { lr: 0.05 })), theirs(tf.train.sgd(0.05)), 1e-6],
    ['SGD momentum', ours((params) => new SGD(params, { lr: 0.05, momentum: 0.9 })), theirs(tf.train.momentum(0.05, 0.9)), 1e-6],
    ['SGD Nesterov', ours((params) => new SGD(params, { lr: 0.05, momentum: 0.9, nesterov: true })), theirs(tf.train.momentum(0.05, 0.9, true)), 1e-6],
    ['Adam', ours((params) => new Adam(params, { lr: 0.1 })), theirs(tf.train.adam(0.1, 0.9, 0.999, 1e-8)), 2e-5],
    ['RMSProp', ours((params) => new RMSProp(params, { lr: 0.01, alpha: 0.9, eps: 0 })), theirs(tf.train.rmsprop(0.01, 0.9, 0, 0)), 1e-6],
    ['RMSProp momentum', ours((params) => new RMSProp(params, { lr: 0.01, alpha: 0.9, eps: 0, momentum: 0.5 })), theirs(tf.train.rmsprop(0.01, 0.9, 0.5, 0)), 1e-6],
    ['RMSProp centred', ours((params) => new RMSProp(params, { lr: 0.01, alpha: 0.9, eps: 0, centered: true })), theirs(tf.train.rmsprop(0.01, 0.9, 0, 0, true)), 1e-6],
  ];
  for (const [name, actual, expected, tolerance] of cases) {
    actual.forEach((value, i) => {
      const error = Math.abs(value - expected[i]);
      assert.ok(error <= tolerance, `${name}: p[${i}] after ${steps} steps is ${value}, TensorFlow.js has ${expected[i]} (error ${error.toExponential(2)})`);
    });
  }
});

test('a full recipe (AdamW groups, warm-up + cosine, clipping, 4 micro-batches per step) resumes bit for bit', () => {
  // The 64 toy points as 4 micro-batches of 16.
  const microBatches = [0, 1, 2, 3].map((k) => [inputs.narrow(0, 16 * k, 16), targets.narrow(0, 16 * k, 16)]);
  const start = (model: Mlp) => {
    const optimizer = new AdamW(
      [
        { params: [model.hidden.weight, model.output.weight] },
        { params: [model.hidden.bias!, model.output.bias!], weightDecay: 0 },
      ],
      { lr: 0.02, weightDecay: 0.1 },
    );
    const scheduler = new LRScheduler(optimizer, warmupCosineSchedule({ maxLr: 0.02, minLr: 0.002, warmupSteps: 3, totalSteps: 12 }));
    return { model, optimizer, scheduler, accumulator: new GradientAccumulator(4) };
  };
  const run = ({ model, optimizer, scheduler, accumulator }: ReturnType<typeof start>, steps: number) => {
    for (let s = 0; s < steps; s++) {
      for (const [x, y] of microBatches) {
        const error = model.output.forward(model.hidden.forward(x).tanh()).sub(y);
        if (accumulator.backward(error.mul(error).mean())) {
          clipGradNorm(model.parameters(), 0.5);
          optimizer.step();
          optimizer.zeroGrad();
          scheduler.step();
        }
      }
    }
  };

  const uninterrupted = start(new Mlp(0));
  run(uninterrupted, 12);

  const first = start(new Mlp(0));
  run(first, 6);
  // A checkpoint: weights, optimiser, schedule and accumulator state, all copied.
  const checkpoint = structuredClone({
    weights: first.model.parameters().map((param) => param.data),
    optimizer: first.optimizer.stateDict(),
    scheduler: first.scheduler.stateDict(),
    accumulator: first.accumulator.stateDict(),
  });
  const second = start(new Mlp(99)); // fresh objects, different initial weights
  second.model.parameters().forEach((param, i) => param.data.set(checkpoint.weights[i]));
  second.optimizer.loadStateDict(checkpoint.optimizer);
  second.scheduler.loadStateDict(checkpoint.scheduler);
  second.accumulator.loadStateDict(checkpoint.accumulator);
  run(second, 6);

  assert.equal(second.optimizer.getLr(1), uninterrupted.optimizer.getLr(1));
  second.model.parameters().forEach((param, i) =>
    assert.deepEqual(param.data, uninterrupted.model.parameters()[i].data, `parameter ${i} differs after resume`));
});

test('stateDict is a copy: later steps do not change it', () => {
  const model = new Mlp(0);
  const optimizer = new Adam(model.parameters(), { lr: 0.01 });
  train(model, optimizer, 2);
  const saved = optimizer.stateDict();
  const snapshot = structuredClone(saved);
  train(model, optimizer, 2);
  assert.deepEqual(saved, snapshot);
  assert.equal(saved.state[0]!.step, 2);
  assert.equal(optimizer.stateOf(model.parameters()[0])!.step, 4);
});

test('stateDict lists groups by parameter index, like PyTorch', () => {
  const [a, b, c] = [Tensor.zeros([2], { requiresGrad: true }), Tensor.zeros([3], { requiresGrad: true }), Tensor.zeros([1], { requiresGrad: true })];
  const optimizer = new AdamW([{ params: [a, b] }, { params: [c], weightDecay: 0 }], { lr: 0.5 });
  c.grad = Tensor.from([1]);
  optimizer.step();
  const dict = optimizer.stateDict();
  assert.equal(dict.optimizer, 'AdamW');
  assert.deepEqual(dict.paramGroups, [
    { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, params: [0, 1] },
    { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, params: [2] },
  ]);
  assert.deepEqual(dict.state.slice(0, 2), [null, null]);
  assert.equal(dict.state[2]!.step, 1);
  assert.ok(dict.state[2]!.buffers.expAvg instanceof Float32Array);
});

test('loadStateDict rejects a state dict that does not fit, naming the parameter and sizes', () => {
  const make = () => {
    const params = [Tensor.zeros([2, 3], { requiresGrad: true }), Tensor.zeros([4], { requiresGrad: true })];
    return { params, optimizer: new Adam(params, { lr: 0.1 }) };
  };
  const { params, optimizer } = make();
  params.forEach((param) => (param.grad = Tensor.onesLike(param)));
  optimizer.step();
  const good = optimizer.stateDict();
  const expectError = (dict: OptimizerStateDict, pattern: RegExp) =>
    assert.throws(() => make().optimizer.loadStateDict(dict as OptimizerStateDict<never>), (error: Error) => error instanceof QkvValueError && pattern.test(error.message), pattern.source);

  const wrongBuffer = structuredClone(good);
  wrongBuffer.state[1]!.buffers.expAvgSq = new Float32Array(5);
  expectError(wrongBuffer, /parameter 1: buffer expAvgSq has 5 values, the parameter has 4 \(shape \(4\)\)/);

  const tooFewParams = structuredClone(good);
  tooFewParams.state.pop();
  tooFewParams.paramGroups[0].params.pop();
  expectError(tooFewParams, /state for 1 parameters, the optimizer has 2/);

  const twoGroups = structuredClone(good);
  twoGroups.paramGroups.push({ ...twoGroups.paramGroups[0], params: [] });
  expectError(twoGroups, /2 parameter groups, the optimizer has 1/);

  const badStep = structuredClone(good);
  badStep.state[0]!.step = -1;
  expectError(badStep, /parameter 0: step must be a non-negative integer, got -1/);

  const missingBuffer = structuredClone(good);
  delete missingBuffer.state[0]!.buffers.expAvg;
  expectError(missingBuffer, /parameter 0: buffer expAvg is missing/);

  const badHyperparameter = structuredClone(good);
  badHyperparameter.paramGroups[0].betas = [0.9, 2];
  expectError(badHyperparameter, /betas\[1\] must be in \[0, 1\), got 2/);

  expectError({ ...good, optimizer: 'SGD' }, /written by SGD, not Adam/);

  // A failed load leaves the optimiser as it was.
  const { optimizer: target } = make();
  assert.throws(() => target.loadStateDict(wrongBuffer));
  assert.equal(target.getLr(), 0.1);
  assert.deepEqual(target.stateDict().state, [null, null]);
});

test('parameter groups override the defaults: no weight decay for biases', () => {
  const weight = Tensor.from([1, -2], undefined, { requiresGrad: true });
  const bias = Tensor.from([1, -2], undefined, { requiresGrad: true });
  const optimizer = new AdamW([{ params: [weight] }, { params: [bias], weightDecay: 0 }], { lr: 0.1, weightDecay: 0.1 });
  weight.grad = Tensor.from([0.5, -1]);
  bias.grad = Tensor.from([0.5, -1]);
  optimizer.step();
  // Both take the first Adam step η·sign(g) = [0.1, −0.1]; only the weight is also shrunk by (1 − 0.1·0.1).
  assert.deepEqual(bias.toArray().map((v) => +v.toFixed(6)), [0.9, -1.9]);
  assert.deepEqual(weight.toArray().map((v) => +v.toFixed(6)), [0.89, -1.88]);
});

test('addParamGroup adds parameters part-way through, with the defaults for unset fields', () => {
  const [a, b] = [Tensor.from([1], undefined, { requiresGrad: true }), Tensor.from([1], undefined, { requiresGrad: true })];
  const optimizer = new SGD([a], { lr: 0.1, momentum: 0.9 });
  optimizer.addParamGroup({ params: [b], lr: 0.5 });
  assert.deepEqual([optimizer.paramGroups[1].lr, optimizer.paramGroups[1].momentum], [0.5, 0.9]);
  b.grad = Tensor.from([1]);
  optimizer.step();
  assert.equal(b.data[0], 0.5); // 1 − 0.5·1
  assert.throws(() => optimizer.addParamGroup({ params: [a] }), /a parameter appears twice \(again as parameter 2, in group 2\)/);
  assert.equal(optimizer.paramGroups.length, 2);
  assert.deepEqual(optimizer.stateDict().paramGroups.map((group) => group.params), [[0], [1]]);
});

test('lr can be read and set per group', () => {
  const [a, b] = [Tensor.zeros([1], { requiresGrad: true }), Tensor.zeros([1], { requiresGrad: true })];
  const optimizer = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
  assert.deepEqual([optimizer.getLr(0), optimizer.getLr(1)], [0.1, 0.5]);
  optimizer.setLr(0.2, 1);
  assert.equal(optimizer.paramGroups[1].lr, 0.2);
  optimizer.lr = 0.3;
  assert.deepEqual(optimizer.paramGroups.map((group) => group.lr), [0.3, 0.3]);
  assert.throws(() => optimizer.setLr(0.1, 2), /no parameter group 2 \(there are 2\)/);
  assert.throws(() => optimizer.setLr(NaN), /lr must be a finite number/);
});

test('parameters without a gradient are skipped and keep their step count', () => {
  const [a, b] = [Tensor.from([1], undefined, { requiresGrad: true }), Tensor.from([1], undefined, { requiresGrad: true })];
  const optimizer = new Adam([a, b], { lr: 0.1 });
  a.grad = Tensor.from([1]);
  optimizer.step();
  assert.equal(b.data[0], 1);
  assert.equal(optimizer.stateOf(b), undefined);
  assert.equal(optimizer.stateOf(a)!.step, 1);
  optimizer.zeroGrad();
  assert.equal(a.grad, null);
});

test('float64 parameters get float64 state', () => {
  const param = Tensor.from([1, -2], undefined, { dtype: 'float64', requiresGrad: true });
  const optimizer = new Adam([param], { lr: 0.1 });
  param.grad = Tensor.from([0.5, -1], undefined, { dtype: 'float64' });
  optimizer.step();
  assert.ok(optimizer.stateOf(param)!.buffers.expAvg instanceof Float64Array);
  assert.equal(param.data[0], 1 - (0.1 * 0.5) / (0.5 + 1e-8));
});

test('a strided gradient is read in logical order', () => {
  const param = Tensor.zeros([2, 2], { requiresGrad: true });
  param.grad = Tensor.from([[1, 2], [3, 4]]).transpose(); // [[1, 3], [2, 4]], not contiguous
  new SGD([param], { lr: 1 }).step();
  assert.deepEqual(param.toArray(), [-1, -3, -2, -4]);
});

test('construction errors name the problem', () => {
  const param = Tensor.zeros([2, 3], { requiresGrad: true });
  assert.throws(() => new SGD([]), (error: Error) => error instanceof QkvValueError && /SGD: got an empty parameter list/.test(error.message));
  assert.throws(() => new SGD([param, param]), /a parameter appears twice \(again as parameter 1, in group 0\)/);
  assert.throws(() => new SGD([{ params: [param] }, { params: [] }]), /parameter group 1 has no parameters/);
  assert.throws(() => new SGD([param.transpose()]), /parameter 0 \(shape \(3,2\)\) is a view/);
  const optimizer = new SGD([param]);
  param.grad = Tensor.zeros([3]);
  assert.throws(() => optimizer.step(), (error: Error) => error instanceof QkvShapeError && /parameter 0 has shape \(2,3\) but its grad has shape \(3\)/.test(error.message));
});
