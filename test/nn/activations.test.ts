import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GELU, Identity, LeakyReLU, ReLU, Sigmoid, SiLU, Tanh } from '../../src/nn/activations.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const inputs = [-2, -0.5, 0, 0.5, 2];
const x = Tensor.from(inputs);

function assertClose(actual: number[], expected: number[], name: string): void {
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${name}(${inputs[i]}): ${v} vs ${expected[i]}`));
}

// Φ(x) for the exact GELU, from erf values in Abramowitz & Stegun table 7.1:
// erf(√2) = 0.9544997361, erf(0.5/√2) = 0.3829249225.
const phi = new Map([[-2, (1 - 0.9544997361) / 2], [-0.5, (1 - 0.3829249225) / 2], [0, 0.5], [0.5, (1 + 0.3829249225) / 2], [2, (1 + 0.9544997361) / 2]]);

test('each activation module applies its function', () => {
  assertClose(new ReLU().forward(x).toArray(), inputs.map((v) => Math.max(0, v)), 'ReLU');
  assertClose(new LeakyReLU().forward(x).toArray(), inputs.map((v) => (v >= 0 ? v : 0.01 * v)), 'LeakyReLU');
  assertClose(new LeakyReLU(0.2).forward(x).toArray(), inputs.map((v) => (v >= 0 ? v : 0.2 * v)), 'LeakyReLU(0.2)');
  assertClose(new GELU().forward(x).toArray(), inputs.map((v) => v * phi.get(v)!), 'GELU');
  const tanhGelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  assertClose(new GELU({ approximate: 'tanh' }).forward(x).toArray(), inputs.map(tanhGelu), 'GELU tanh');
  assertClose(new SiLU().forward(x).toArray(), inputs.map((v) => v / (1 + Math.exp(-v))), 'SiLU');
  assertClose(new Tanh().forward(x).toArray(), inputs.map(Math.tanh), 'Tanh');
  assertClose(new Sigmoid().forward(x).toArray(), inputs.map((v) => 1 / (1 + Math.exp(-v))), 'Sigmoid');
  assert.equal(new Identity().forward(x), x);
});

test('activations hold no parameters and reject unknown options', () => {
  for (const module of [new ReLU(), new LeakyReLU(), new GELU(), new SiLU(), new Tanh(), new Sigmoid(), new Identity()]) {
    assert.equal(module.numParameters(), 0);
    assert.deepEqual(Object.keys(module.stateDict()), []);
  }
  assert.throws(() => new GELU({ approximate: 'fast' as 'tanh' }), QkvValueError);
});
