import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GRU, GRUCell } from '../../src/nn/gru.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

test('GRU cell on a 1-unit example worked from the PyTorch formulas', () => {
  const cell = new GRUCell(1, 1, { dtype: 'float64', rng: new Rng(0) });
  // weight_ih = [W_ir, W_iz, W_in], weight_hh = [W_hr, W_hz, W_hn], biases likewise (PyTorch's r, z, n order).
  noGrad(() => {
    cell.weight_ih.data.set([0.5, -1, 2]);
    cell.weight_hh.data.set([1.5, 0.25, -0.5]);
    cell.bias_ih!.data.set([0.1, 0.2, 0.3]);
    cell.bias_hh!.data.set([-0.2, 0.4, 0.6]);
  });
  const x = 0.7;
  const h = -0.3;
  const r = sigmoid(0.5 * x + 0.1 + 1.5 * h - 0.2);
  const z = sigmoid(-1 * x + 0.2 + 0.25 * h + 0.4);
  const n = Math.tanh(2 * x + 0.3 + r * (-0.5 * h + 0.6));
  const expected = (1 - z) * n + z * h;
  const out = cell.forward(Tensor.from([[x]], undefined, { dtype: 'float64' }), Tensor.from([[h]], undefined, { dtype: 'float64' }));
  assert.ok(Math.abs(out.item() - expected) < 1e-14, `${out.item()} vs ${expected}`);
  assert.deepEqual(Object.keys(cell.stateDict()), ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']);
});

test('GRU cell gradients (input, state, all four parameters) match finite differences', () => {
  const rng = new Rng(3);
  const cell = new GRUCell(3, 4, { dtype: 'float64', rng });
  const x = Tensor.randn([2, 3], { dtype: 'float64', rng, requiresGrad: true });
  const h = Tensor.randn([2, 4], { dtype: 'float64', rng, requiresGrad: true });
  const { checked } = gradcheck('GRUCell', () => cell.forward(x, h), [x, h, ...cell.parameters()]);
  assert.equal(checked, 6 + 8 + 36 + 48 + 12 + 12);
});

test('GRU over a padded sequence: padded steps carry the state, the last state is the last real step; gradients check', () => {
  const rng = new Rng(5);
  const gru = new GRU(2, 3, { dtype: 'float64', rng });
  const x = Tensor.randn([2, 4, 2], { dtype: 'float64', rng, requiresGrad: true });
  const mask = Tensor.from([[1, 1, 1, 1], [1, 1, 0, 0]], undefined, { dtype: 'float64' });
  const { outputs, last } = gru.forward(x, { mask });
  // Row 1 by hand with the cell: two real steps only.
  let h = Tensor.zeros([1, 3], { dtype: 'float64' });
  for (let t = 0; t < 2; t++) h = gru.cell.forward(x.narrow(0, 1, 1).narrow(1, t, 1).reshape([1, 2]), h);
  for (let j = 0; j < 3; j++) {
    assert.ok(Math.abs(last.get(1, j) - h.get(0, j)) < 1e-14);
    assert.equal(outputs.get(1, 3, j), outputs.get(1, 1, j)); // carried over unchanged
  }
  gradcheck('GRU masked', () => gru.forward(x, { mask }).outputs, [x, ...gru.parameters()]);
  assert.throws(() => gru.forward(x, { mask: Tensor.ones([2, 3]) }), /mask must be \(B, T\) = \(2, 4\)/);
});
