import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sequential } from '../../src/nn/sequential.ts';
import { Linear } from '../../src/nn/linear.ts';
import { ReLU, Tanh } from '../../src/nn/activations.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

test('children are named 0, 1, … as in PyTorch (activations hold no parameters)', () => {
  const mlp = new Sequential(new Linear(2, 8), new Tanh(), new Linear(8, 1));
  assert.deepEqual(mlp.namedParameters().map(([name]) => name), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.deepEqual(mlp.namedModules().map(([name]) => name), ['', '0', '1', '2']);
  assert.equal(mlp.numParameters(), 2 * 8 + 8 + 8 + 1);
});

test('forward feeds each output to the next module', () => {
  const first = new Linear(2, 2);
  first.loadStateDict({ weight: Tensor.from([[1, 0], [0, -1]]), bias: Tensor.from([0, 0]) });
  const second = new Linear(2, 1);
  second.loadStateDict({ weight: Tensor.from([[1, 1]]), bias: Tensor.from([0.5]) });
  const model = new Sequential(first, new ReLU(), second);
  // x = (3, 2): first → (3, −2), ReLU → (3, 0), second → 3 + 0 + 0.5
  assert.deepEqual(model.forward(Tensor.from([[3, 2]])).tolist(), [[3.5]]);
  const x = Tensor.from([[1, 2]]);
  assert.equal(new Sequential().forward(x), x, 'an empty Sequential is the identity');
});

test('Sequentials nest, with dotted names', () => {
  const model = new Sequential(new Sequential(new Linear(2, 2)), new Linear(2, 1, { bias: false }));
  assert.deepEqual(model.namedParameters().map(([name]) => name), ['0.0.weight', '0.0.bias', '1.weight']);
});
