import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dequantizeMatrix, quantizeMatrix, QUANT_FORMATS } from '../../src/compress/formats.ts';
import { qmatmulTypeScript } from '../../src/compress/qmatmul.ts';
import { nativeQmatmul } from '../../src/compress/qmatmul-native.ts';
import { qmatmulReference } from '../../src/compress/qmatmul-reference.ts';
import { QuantizedLinear } from '../../src/compress/quantized-linear.ts';
import { Conv1D } from '../../src/nn/conv1d.ts';
import { Linear } from '../../src/nn/linear.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

function randomValues(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (error > tolerance * (1 + Math.abs(expected[i]))) assert.fail(`${what}: index ${i}: ${actual[i]} vs ${expected[i]} (error ${error})`);
  }
}

test('the TypeScript qmatmul on packed blocks equals the dequantised reference (each format, awkward M and N)', () => {
  for (const format of QUANT_FORMATS) {
    for (const [M, K, N] of [[1, 256, 7], [5, 384, 33]] as const) {
      const weight = quantizeMatrix(format, randomValues(N * K, 1), N, K);
      const x = randomValues(M * K, 2);
      assertClose(qmatmulTypeScript(x, M, weight), qmatmulReference(x, M, weight), 1e-5, `${format} (${M},${K})·(${N},${K})ᵀ`);
    }
  }
});

test('the reference itself: x · dequantised Wᵀ, checked on one hand-sized product', () => {
  const weight = quantizeMatrix('q8_0', Float32Array.from({ length: 64 }, (_, i) => (i % 32) - 16), 2, 32);
  const w = dequantizeMatrix(weight);
  const x = Float32Array.from({ length: 32 }, (_, i) => (i % 3) - 1);
  let row0 = 0;
  for (let k = 0; k < 32; k++) row0 += x[k] * w[k];
  assertClose(qmatmulReference(x, 1, weight), [row0, row0], 1e-6, 'reference');
});

// On the native backend the layer runs the native kernel, which also rounds x to 8 bits per block
// of 32 (its exact result and bound are checked in qmatmul-native.test.ts): about 0.4% of an output.
const layerTolerance = (() => {
  try {
    return nativeQmatmul() !== null ? 2e-2 : 1e-5;
  } catch {
    return 1e-5;
  }
})();

test('QuantizedLinear from Linear and from Conv1D: forward equals the float layer with the dequantised weight', () => {
  const rng = new Rng(3);
  const linear = new Linear(64, 24, { rng });
  const x = Tensor.randn([2, 3, 64], { rng });
  for (const format of ['q8_0', 'q4_0'] as const) {
    const q = QuantizedLinear.fromLinear(linear, format);
    const w = new Tensor(dequantizeMatrix(q.qweight), [24, 64]);
    const expected = noGrad(() => x.matmul(w.transpose(0, 1)).add(linear.bias!));
    assertClose(noGrad(() => q.forward(x)).contiguousData(), expected.contiguousData(), layerTolerance, `Linear ${format}`);
    // quantisation moves the output only a little: the relative error of Q8_0 is well under 1%
    const exact = noGrad(() => linear.forward(x)).contiguousData();
    const got = noGrad(() => q.forward(x)).contiguousData();
    let num = 0, den = 0;
    for (let i = 0; i < exact.length; i++) { num += (got[i] - exact[i]) ** 2; den += exact[i] ** 2; }
    assert.ok(Math.sqrt(num / den) < (format === 'q8_0' ? 0.01 : 0.15), `${format} relative error ${Math.sqrt(num / den)}`);
  }
  const conv = new Conv1D(128, 40, { rng });
  conv.bias.data.set(Float32Array.from({ length: 40 }, (_, i) => i / 40));
  const q = QuantizedLinear.fromConv1D(conv, 'q4_g128');
  const w = new Tensor(dequantizeMatrix(q.qweight), [40, 128]); // (out, in)
  const input = Tensor.randn([3, 128], { rng });
  const expected = noGrad(() => input.matmul(w.transpose(0, 1)).add(conv.bias).gelu('tanh'));
  assertClose(noGrad(() => q.forwardGelu(input)).contiguousData(), expected.contiguousData(), layerTolerance, 'Conv1D q4_g128 forwardGelu');
});

test('QuantizedLinear refuses a forward that would need a gradient, and a wrong input width', () => {
  const q = QuantizedLinear.fromLinear(new Linear(32, 4), 'q8_0');
  const x = Tensor.randn([1, 32]);
  x.requiresGrad = true;
  assert.throws(() => q.forward(x), /inference-only/);
  assert.throws(() => noGrad(() => q.forward(Tensor.randn([1, 16]))), /last dimension 32/);
});
