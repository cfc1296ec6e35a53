// biasGelu(x, bias) against its definition, gelu(add(x, bias), 'tanh'):
// - float64 (TypeScript) equals the composition to 1e-15 and passes gradcheck;
// - float32 on wasm matches the float64 op on the same values: y 3e-7, dx 2e-7 (as the unfused
//   GELU kernel, test/kernels/activation-wasm.test.ts), dbias 2e-7·N (float32 sums over N rows),
//   all relative to max(1, |reference|), on rows 1, 3, 65 × channels 1, 7, 33, 129;
// - float32 on the 'reference' kernels equals the float32 composition there to float32 rounding.
// Failures name the tensor, the index and the error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getKernelInfo, setKernelBackend } from '../../../src/kernels/index.ts';
import { QkvShapeError } from '../../../src/tensor/errors.ts';
import { gradcheck } from '../../../src/tensor/gradcheck.ts';
import { add, gelu } from '../../../src/tensor/ops/elementwise.ts';
import { biasGelu } from '../../../src/tensor/ops/fused.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { Tensor, type DType } from '../../../src/tensor/tensor.ts';

const rng = new Rng(29);

function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.equal(actual.length, expected.length, `${what}: size`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= tolerance * Math.max(1, Math.abs(expected[i])))) {
      assert.fail(`${what}: index ${i}: got ${actual[i]}, reference ${expected[i]}, |error| ${error.toExponential(2)} > ${tolerance} · max(1, |reference|)`);
    }
  }
}

/** y, dx and dbias of `fn` on copies of x and bias in `dtype`, for the upstream gradient g. */
function run(fn: (x: Tensor, bias: Tensor) => Tensor, x: Tensor, bias: Tensor, g: Tensor, dtype: DType) {
  const xs = new Tensor(dtype === 'float64' ? Float64Array.from(x.data) : Float32Array.from(x.data), x.shape);
  const bs = new Tensor(dtype === 'float64' ? Float64Array.from(bias.data) : Float32Array.from(bias.data), bias.shape);
  xs.requiresGrad = true;
  bs.requiresGrad = true;
  const y = fn(xs, bs);
  y.backward({ gradient: new Tensor(dtype === 'float64' ? Float64Array.from(g.data) : Float32Array.from(g.data), g.shape) });
  return { y: y.toArray(), dx: xs.grad!.toArray(), dbias: bs.grad!.toArray() };
}

const composed = (x: Tensor, bias: Tensor) => gelu(add(x, bias), 'tanh');

/** float32 values (so every dtype sees the same inputs), x spread over GELU's curved range. */
function inputs(N: number, C: number) {
  const f32 = (shape: number[], scale: number) => new Tensor(Float32Array.from(Tensor.randn(shape, { rng, std: scale }).data), shape);
  return { x: f32([N, C], 2), bias: f32([C], 1), g: f32([N, C], 1) };
}

test('biasGelu float64 equals gelu(add(x, bias), "tanh"), forward and both gradients', () => {
  for (const [N, C] of [[1, 1], [3, 7], [65, 33]]) {
    const { x, bias, g } = inputs(N, C);
    const fused = run(biasGelu, x, bias, g, 'float64');
    const plain = run(composed, x, bias, g, 'float64');
    assertClose(`biasGelu (${N}, ${C}) float64 y`, fused.y, plain.y, 1e-15);
    assertClose(`biasGelu (${N}, ${C}) float64 dx`, fused.dx, plain.dx, 1e-15);
    assertClose(`biasGelu (${N}, ${C}) float64 dbias`, fused.dbias, plain.dbias, 1e-14);
  }
});

test('biasGelu float64 passes gradcheck on 2-D and 3-D inputs', () => {
  for (const shape of [[4, 7], [2, 3, 5]]) {
    const C = shape[shape.length - 1];
    const x = Tensor.randn(shape, { dtype: 'float64', rng, std: 2, requiresGrad: true });
    const bias = Tensor.randn([C], { dtype: 'float64', rng, requiresGrad: true });
    gradcheck(`biasGelu ${shape}`, (a, b) => biasGelu(a, b), [x, bias]);
  }
});

test('biasGelu float32 on the default kernel backend matches the float64 op on awkward shapes', () => {
  for (const N of [1, 3, 65]) {
    for (const C of [1, 7, 33, 129]) {
      const { x, bias, g } = inputs(N, C);
      const wasm = run(biasGelu, x, bias, g, 'float32');
      const reference = run(biasGelu, x, bias, g, 'float64');
      assertClose(`biasGelu (${N}, ${C}) wasm y`, wasm.y, reference.y, 3e-7);
      assertClose(`biasGelu (${N}, ${C}) wasm dx`, wasm.dx, reference.dx, 2e-7);
      assertClose(`biasGelu (${N}, ${C}) wasm dbias`, wasm.dbias, reference.dbias, 2e-7 * N);
    }
  }
});

test('biasGelu float32 on the reference kernels equals the float32 composition there', () => {
  const before = getKernelInfo().backend;
  setKernelBackend('reference');
  try {
    const { x, bias, g } = inputs(65, 33);
    const fused = run(biasGelu, x, bias, g, 'float32');
    const plain = run(composed, x, bias, g, 'float32');
    assertClose('biasGelu reference-kernels float32 y', fused.y, plain.y, 0);
    // The composition's backward reads exp(2u) saved in float32; the fused one recomputes it.
    assertClose('biasGelu reference-kernels float32 dx', fused.dx, plain.dx, 2.4e-7);
    assertClose('biasGelu reference-kernels float32 dbias', fused.dbias, plain.dbias, 1e-5);
  } finally {
    setKernelBackend(before);
  }
});

test('biasGelu names the shapes when bias does not fit the last axis', () => {
  assert.throws(() => biasGelu(Tensor.zeros([2, 3]), Tensor.zeros([4])), QkvShapeError);
  assert.throws(() => biasGelu(Tensor.zeros([2, 3]), Tensor.zeros([4])), /bias must have shape \(3\) for input \(2,3\), got \(4\)/);
  assert.throws(() => biasGelu(Tensor.scalar(1), Tensor.zeros([1])), /at least one axis/);
});
