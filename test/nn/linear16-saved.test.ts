// What a 16-bit Linear keeps for backward: its input as 16-bit storage, and nothing of the fp32 input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { encodeBfloat16, encodeFloat16, fromBfloat16Bits, fromFloat16Bits } from '../../src/io/half.ts';
import { Linear } from '../../src/nn/linear.ts';
import { linear16SavedInput, linearSavedBytes, releaseLinear16Activations, resetLinearSavedBytes, withLinearPrecision } from '../../src/nn/linear16.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const PRECISIONS16 = ['bf16', 'fp16'] as const;
const encode = (p: 'bf16' | 'fp16', values: Float32Array) => (p === 'bf16' ? encodeBfloat16(values) : encodeFloat16(values));
const decode = (p: 'bf16' | 'fp16', bits: number) => (p === 'bf16' ? fromBfloat16Bits(bits) : fromFloat16Bits(bits));

function randomArray(n: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

/** Every tensor the graph behind `root` reaches. */
function graphTensors(root: Tensor): Set<Tensor> {
  const seen = new Set<Tensor>([root]);
  const stack = [root];
  while (stack.length > 0) {
    for (const input of stack.pop()!.gradFn?.inputs ?? []) if (!seen.has(input)) { seen.add(input); stack.push(input); }
  }
  return seen;
}

test('the input a 16-bit Linear saves is 16-bit storage (its rounded values); the graph holds no fp32 copy of it', () => {
  const [M, K, N] = [24, 40, 8];
  const layer = new Linear(K, N, { rng: new Rng(1), bias: false });
  const leaf = Tensor.from(randomArray(M * K, new Rng(2)), [M, K], { requiresGrad: true });
  for (const precision of PRECISIONS16) {
    const h = leaf.mul(3); // made by an op: the case a stand-in replaces
    const y = withLinearPrecision(precision, () => layer.forward(h));
    const saved = linear16SavedInput(y);
    assert.ok(saved instanceof Uint16Array, `${precision}: saved input is ${saved?.constructor.name}`);
    assert.equal(saved.length, M * K);
    const expected = encode(precision, h.contiguousData() as Float32Array);
    for (let i = 0; i < saved.length; i++) assert.equal(saved[i], expected[i], `${precision} saved[${i}]: ${decode(precision, saved[i])} vs ${decode(precision, expected[i])}`);
    const held = [...graphTensors(y)].filter((t) => t.data.buffer === h.data.buffer);
    assert.deepEqual(held.map((t) => t.gradFn?.name), [], `${precision}: the graph still holds h's fp32 storage`);
  }
  // fp32 keeps x (its backward reads it): the check above can fail.
  const h = leaf.mul(3);
  const y = layer.forward(h);
  assert.equal(linear16SavedInput(y), null);
  assert.ok([...graphTensors(y)].some((t) => t.data === h.data), 'fp32: the graph holds x');
});

test('a 16-bit Linear\'s fp32 input is garbage once the caller drops it, before backward; the gradient still reaches its producer exactly', async () => {
  const [M, K, N] = [16, 24, 12];
  const layer = new Linear(K, N, { rng: new Rng(3), bias: false });
  for (const precision of ['fp32', ...PRECISIONS16] as const) {
    const leaf = Tensor.from(randomArray(M * K, new Rng(4)), [M, K], { requiresGrad: true });
    const forward = (): { loss: Tensor; input: WeakRef<Tensor> } => {
      const h = leaf.mul(2); // nothing outside this function keeps h
      return { loss: withLinearPrecision(precision, () => layer.forward(h).sum()), input: new WeakRef(h) };
    };
    const { loss, input } = forward();
    await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets live until the job ends
    collectGarbage();
    assert.equal(input.deref() === undefined, precision !== 'fp32', `${precision}: h ${input.deref() === undefined ? 'collected' : 'alive'}`);
    withLinearPrecision(precision, () => loss.backward());
    // d sum(h·Wᵀ)/d leaf = 2 · Σ_n W[n, k] for every row, W rounded to the precision (the incoming gradient, 1, is exact).
    const w = layer.weight.contiguousData() as Float32Array;
    const rounded = precision === 'fp32' ? Array.from(w) : Array.from(encode(precision, w), (bits) => decode(precision, bits));
    const grad = leaf.grad!.contiguousData();
    for (let k = 0; k < K; k++) {
      let column = 0;
      for (let n = 0; n < N; n++) column += rounded[n * K + k];
      for (let m = 0; m < M; m++) {
        const error = Math.abs(grad[m * K + k] - 2 * column);
        assert.ok(error <= 1e-5 * (1 + Math.abs(column)), `${precision} d leaf[${m}, ${k}] = ${grad[m * K + k]}, expected ${2 * column}`);
      }
    }
    layer.weight.grad = null;
  }
});

test('an input a 16-bit Linear and another op both read: the same gradients through its stand-in and folded back into one node', () => {
  const [M, K, N] = [20, 16, 10];
  const layer = new Linear(K, N, { rng: new Rng(5), bias: false });
  const r = Tensor.from(randomArray(M * N, new Rng(6)), [M, N]);
  const xValues = randomArray(M * K, new Rng(7));
  const run = (precision: 'fp32' | 'bf16' | 'fp16', fold: boolean) => {
    layer.weight.grad = null;
    const leaf = Tensor.from(xValues, [M, K], { requiresGrad: true });
    withLinearPrecision(precision, () => {
      const h = leaf.mul(2);
      const product = layer.forward(h);
      const loss = product.mul(r).sum().add(h.mul(h).sum()); // h also read by mul, whose backward reads it
      if (fold) {
        releaseLinear16Activations(loss);
        if (precision !== 'fp32') assert.equal(product.gradFn!.inputs[0], h, 'folded: the product reads h itself in the graph');
      } else if (precision !== 'fp32') assert.notEqual(product.gradFn!.inputs[0], h, 'a stand-in for h');
      loss.backward();
    });
    return { dx: Array.from(leaf.grad!.contiguousData()), dw: Array.from(layer.weight.grad!.contiguousData()) };
  };
  const fp32 = run('fp32', false);
  for (const precision of PRECISIONS16) {
    const throughStandIn = run(precision, false);
    const folded = run(precision, true);
    // ×2 is exact, so h's producer run twice (once per share) sums to the same bits as once over the sum.
    assert.deepEqual(throughStandIn, folded, `${precision}: stand-in vs folded`);
    for (const name of ['dx', 'dw'] as const) {
      let worst = 0;
      let scale = 0;
      fp32[name].forEach((v, i) => { worst = Math.max(worst, Math.abs(v - folded[name][i])); scale = Math.max(scale, Math.abs(v)); });
      assert.ok(worst <= 2e-2 * scale, `${precision} ${name}: max |16-bit − fp32| ${worst} (scale ${scale})`);
    }
  }
});

test('inside a training step\'s recycle scope each weight is rounded once, however many products use it', () => {
  const layer = new Linear(32, 24, { rng: new Rng(8) });
  const a = Tensor.from(randomArray(10 * 32, new Rng(9)), [10, 32]);
  const b = Tensor.from(randomArray(6 * 32, new Rng(10)), [6, 32]);
  const outputs = (recycle: boolean) => {
    resetLinearSavedBytes();
    const values = withLinearPrecision('bf16', () => [layer.forward(a), layer.forward(b)].map((y) => Array.from(y.contiguousData())), { recycle });
    return { values, bytes: linearSavedBytes() };
  };
  const perUse = outputs(false);
  const perStep = outputs(true);
  assert.equal(perUse.bytes, (10 + 6) * 32 * 2 + 2 * 24 * 32 * 2, 'outside a step: a copy per use');
  assert.equal(perStep.bytes, (10 + 6) * 32 * 2 + 24 * 32 * 2, 'in a step: one copy');
  assert.deepEqual(perStep.values, perUse.values);
  // The next step sees the updated weight, not the last step's copy.
  layer.weight.data.fill(0.5);
  const updated = withLinearPrecision('bf16', () => Array.from(layer.forward(a).contiguousData()), { recycle: true });
  assert.notDeepEqual(updated, perStep.values[0]);
  const expected = withLinearPrecision('bf16', () => Array.from(layer.forward(a).contiguousData()));
  assert.deepEqual(updated, expected);
});
