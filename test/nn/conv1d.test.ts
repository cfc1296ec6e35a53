import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv1D } from '../../src/nn/conv1d.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { Rng } from '../../src/tensor/random.ts';

test('Conv1D computes x·W + b with W stored (in, out), as Hugging Face GPT-2', () => {
  const layer = new Conv1D(2, 3, { rng: new Rng(1) });
  layer.weight.data.set([1, 2, 3, 4, 5, 6]); // [[1,2,3],[4,5,6]]
  layer.bias.data.set([0.5, 0, -1]);
  const y = layer.forward(Tensor.from([[1, 1], [2, 0]]));
  assert.deepEqual(y.tolist(), [[5.5, 7, 8], [2.5, 4, 5]]);
  assert.deepEqual(layer.namedParameters().map(([name, p]) => [name, [...p.shape]]), [['weight', [2, 3]], ['bias', [3]]]);
});

test('Conv1D rejects a wrong input width by name', () => {
  assert.throws(() => new Conv1D(4, 2).forward(Tensor.zeros([3, 5])), /Conv1D: expected input with last dimension 4, got \(3,5\)/);
});

test('forwardGelu equals forward then tanh GELU (the fused bias add changes nothing)', () => {
  const layer = new Conv1D(3, 5, { rng: new Rng(2) });
  layer.bias.data.set([0.1, -0.2, 0.3, 0, 1]);
  const x = Tensor.randn([2, 4, 3], { rng: new Rng(3) });
  const fused = layer.forwardGelu(x).toArray();
  const composed = layer.forward(x).gelu('tanh').toArray();
  fused.forEach((v, i) => assert.ok(Math.abs(v - composed[i]) < 1e-6, `index ${i}: ${v} vs ${composed[i]}`));
});
