import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBfloat16, encodeFloat16, fromBfloat16Bits, fromFloat16Bits } from '../../src/io/half.ts';
import { Conv1D } from '../../src/nn/conv1d.ts';
import { Linear } from '../../src/nn/linear.ts';
import {
  encodeBfloat16Fast, encodeFloat16Fast, linearSavedBytes, pooledLinear16Bytes, releaseLinear16Activations, resetLinearSavedBytes, withLinearPrecision,
} from '../../src/nn/linear16.ts';
import { setKernelBackend } from '../../src/kernels/index.ts';
import { nativeGemm16 } from '../../src/kernels/native/gemm16.ts';
import { loadNativeBackend, setNativeThreads } from '../../src/kernels/native/index.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const PRECISIONS16 = ['bf16', 'fp16'] as const;
const roundTo = (p: 'bf16' | 'fp16', v: number): number =>
  p === 'bf16' ? fromBfloat16Bits(encodeBfloat16([v])[0]) : fromFloat16Bits(encodeFloat16([v])[0]);

function randomArray(n: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

/** Thread counts the native kernels can be run on here (none when the addon is absent). */
function threadCounts(): number[] {
  try {
    loadNativeBackend();
    return [1, 2];
  } catch {
    return [0];
  }
}

test('encodeBfloat16Fast rounds exactly as io/half.ts does (ties to even, inf, NaN, subnormals)', () => {
  const rng = new Rng(3);
  const specials = [0, -0, 1, -1, 65504, 3.4e38, -3.4e38, 1e-40, -1e-42, Infinity, -Infinity, NaN, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -9];
  const values = Float32Array.from([...specials, ...randomArray(2000, rng, 100)]);
  const fast = encodeBfloat16Fast(values);
  const reference = encodeBfloat16(values);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) assert.ok(Number.isNaN(fromBfloat16Bits(fast[i])), `NaN at ${i}`);
    else assert.equal(fast[i], reference[i], `value ${values[i]}`);
  }
});

test('encodeFloat16Fast rounds exactly as io/half.ts does (ties to even, overflow, subnormals, NaN)', () => {
  const rng = new Rng(4);
  const specials = [0, -0, 1, -1, 65504, 65519, 65520, -65520, 1e6, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1.5 * 2 ** -24, 2 ** -26,
    6.1e-5, -3e-7, Infinity, -Infinity, NaN, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2047 + 0.5, 2049];
  const tiny = Array.from({ length: 500 }, () => (rng.uniform() * 2 - 1) * 2 ** -13);
  const values = Float32Array.from([...specials, ...tiny, ...randomArray(2000, rng, 70000)]);
  const fast = encodeFloat16Fast(values);
  const reference = encodeFloat16(values);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) assert.ok(Number.isNaN(fromFloat16Bits(fast[i])), `NaN at ${i}`);
    else assert.equal(fast[i], reference[i], `value ${values[i]}: ${fast[i].toString(16)} vs ${reference[i].toString(16)}`);
  }
});

// Awkward shapes: nothing a multiple of a tile, a 3-D input, a single row.
const SHAPES: [number[], number][] = [[[7, 13], 5], [[2, 3, 17], 9], [[1, 31], 33]];

for (const precision of PRECISIONS16) {
  test(`${precision} Linear and Conv1D forward: the float64 product of the rounded operands, on 1 and 2 threads`, () => {
    for (const threads of threadCounts()) {
      if (threads > 0) setNativeThreads(threads);
      const rng = new Rng(11);
      for (const [xShape, N] of SHAPES) {
        const K = xShape[xShape.length - 1];
        const M = xShape.reduce((a, b) => a * b, 1) / K;
        const x = Tensor.from(randomArray(M * K, rng), xShape);
        for (const layer of [new Linear(K, N, { rng }), new Conv1D(K, N, { rng, std: 0.3 })]) {
          const y = withLinearPrecision(precision, () => layer.forward(x));
          const w = layer.weight.data;
          const bias = layer.bias!.data;
          const outIn = layer instanceof Linear;
          const got = y.contiguousData();
          assert.deepEqual(y.shape, [...xShape.slice(0, -1), N]);
          for (let m = 0; m < M; m++) {
            for (let n = 0; n < N; n++) {
              let sum = 0;
              let magnitude = 0;
              for (let k = 0; k < K; k++) {
                const term = roundTo(precision, x.data[m * K + k]) * roundTo(precision, outIn ? w[n * K + k] : w[k * N + n]);
                sum += term;
                magnitude += Math.abs(term);
              }
              const expected = sum + bias[n];
              // fp32 accumulation of exact 16-bit products: a few fp32 ulps of Σ|terms|.
              const tolerance = 1e-6 * (magnitude + Math.abs(bias[n])) * K + 1e-7;
              assert.ok(Math.abs(got[m * N + n] - expected) <= tolerance,
                `${layer.constructor.name} ${xShape}→${N} threads ${threads} [${m},${n}]: ${got[m * N + n]} vs ${expected}`);
            }
          }
        }
      }
    }
  });

  test(`${precision} Linear gradients match float64 central differences within the 16-bit tolerance`, () => {
    const rng = new Rng(5);
    const [B, K, N] = [6, 19, 7];
    const layer = new Linear(K, N, { rng });
    const xValues = randomArray(B * K, rng);
    const r = randomArray(B * N, rng); // loss = Σ y·r, so dL/dy = r
    const x = Tensor.from(xValues, [B, K], { requiresGrad: true });
    const y = withLinearPrecision(precision, () => layer.forward(x));
    y.mul(Tensor.from(r, [B, N])).sum().backward();

    // The float64 function being approximated: the unrounded y = x·Wᵀ + b.
    const w = Float64Array.from(layer.weight.data);
    const bias = Float64Array.from(layer.bias!.data);
    const loss = (xs: Float64Array, ws: Float64Array): number => {
      let total = 0;
      for (let b = 0; b < B; b++) for (let n = 0; n < N; n++) {
        let s = bias[n];
        for (let k = 0; k < K; k++) s += xs[b * K + k] * ws[n * K + k];
        total += s * r[b * N + n];
      }
      return total;
    };
    const h = 1e-6;
    const differences = (values: Float64Array, other: (v: Float64Array) => number): Float64Array =>
      Float64Array.from(values, (_, i) => {
        const up = Float64Array.from(values); up[i] += h;
        const down = Float64Array.from(values); down[i] -= h;
        return (other(up) - other(down)) / (2 * h);
      });
    const xs = Float64Array.from(xValues);
    const dxExpected = differences(xs, (v) => loss(v, w));
    const dwExpected = differences(w, (v) => loss(xs, v));
    // Each 16-bit operand carries a relative error ≤ 2^-9 (bf16) or 2^-12 (fp16); the gradients,
    // sums of K or B such products, are within a few of those of their norm.
    const tolerance = precision === 'bf16' ? 2 ** -6 : 2 ** -9;
    for (const [name, got, expected] of [['dx', x.grad!.contiguousData(), dxExpected], ['dW', layer.weight.grad!.contiguousData(), dwExpected]] as const) {
      let err = 0;
      let norm = 0;
      for (let i = 0; i < expected.length; i++) {
        err += (got[i] - expected[i]) ** 2;
        norm += expected[i] ** 2;
      }
      const relative = Math.sqrt(err / norm);
      assert.ok(relative <= tolerance, `${precision} ${name}: relative error ${relative} > ${tolerance}`);
      assert.ok(relative > 0, `${precision} ${name}: no rounding at all, so the 16-bit path did not run`);
    }
  });
}

test('fp32 Linear is the plain matmul bit for bit, and 16-bit precision halves the bytes kept for backward', () => {
  const rng = new Rng(9);
  const layer = new Conv1D(32, 48, { rng });
  const x = Tensor.from(randomArray(4 * 10 * 32, rng), [4, 10, 32]);
  resetLinearSavedBytes();
  const plain = layer.forward(x).contiguousData();
  const fp32Bytes = linearSavedBytes();
  assert.equal(fp32Bytes, 4 * 10 * 32 * 4);
  for (const precision of PRECISIONS16) {
    resetLinearSavedBytes();
    const rounded = withLinearPrecision(precision, () => layer.forward(x)).contiguousData();
    // x copied at 2 bytes an element, plus the 16-bit weight copy.
    assert.equal(linearSavedBytes(), 4 * 10 * 32 * 2 + 32 * 48 * 2);
    assert.notDeepEqual(Array.from(rounded), Array.from(plain));
  }
  resetLinearSavedBytes();
  assert.deepEqual(Array.from(withLinearPrecision('fp32', () => layer.forward(x)).contiguousData()), Array.from(plain));
});

test('on the native backend the products run on gemm16, equal to the widening fallback (reference backend) within fp32 accumulation', { skip: nativeGemm16() === null ? 'the native gemm16 kernel is not built here' : false }, () => {
  const rng = new Rng(12);
  const [M, K, N] = [37, 65, 33];
  const layers = [new Linear(K, N, { rng }), new Conv1D(K, N, { rng, std: 0.3 })];
  const xValues = randomArray(M * K, rng);
  const r = randomArray(M * N, rng);
  const run = (backend: 'native' | 'reference', precision: 'bf16' | 'fp16', layer: Linear | Conv1D) => {
    setKernelBackend(backend);
    try {
      layer.weight.grad = null;
      const x = Tensor.from(xValues, [M, K], { requiresGrad: true });
      const y = withLinearPrecision(precision, () => layer.forward(x));
      y.mul(Tensor.from(r, [M, N])).sum().backward();
      return { y: y.contiguousData(), dx: x.grad!.contiguousData(), dw: layer.weight.grad!.contiguousData() };
    } finally {
      setKernelBackend('native');
    }
  };
  for (const precision of PRECISIONS16) {
    for (const layer of layers) {
      const native = run('native', precision, layer);
      const fallback = run('reference', precision, layer);
      for (const name of ['y', 'dx', 'dw'] as const) {
        let worst = 0;
        let scale = 0;
        for (let i = 0; i < native[name].length; i++) {
          worst = Math.max(worst, Math.abs(native[name][i] - fallback[name][i]));
          scale = Math.max(scale, Math.abs(fallback[name][i]));
        }
        // Same 16-bit values, fp32 sums in another order: a few ulps of the largest |value| · depth.
        assert.ok(worst <= scale * 2 ** -24 * Math.max(M, K, N), `${precision} ${layer.constructor.name} ${name}: max |native − fallback| ${worst} (scale ${scale})`);
      }
    }
  }
});

test('withLinearPrecision({ recycle }) returns the step\'s 16-bit copies to a pool that the next step reuses, with the same results', () => {
  const rng = new Rng(13);
  const layer = new Linear(48, 40, { rng });
  const x = Tensor.from(randomArray(64 * 48, rng), [64, 48], { requiresGrad: true });
  const step = (recycle: boolean) => {
    layer.weight.grad = null;
    x.grad = null;
    withLinearPrecision('bf16', () => layer.forward(x).sum().backward(), { recycle });
    return [...layer.weight.grad!.contiguousData(), ...x.grad!.contiguousData()];
  };
  const plain = step(false);
  const before = pooledLinear16Bytes();
  const first = step(true);
  const afterFirst = pooledLinear16Bytes();
  // x (64·48) and W (40·48) kept for backward, back in the pool once the scope ends.
  assert.ok(afterFirst - before >= (64 * 48 + 40 * 48) * 2, `pooled ${afterFirst - before} bytes`);
  const second = step(true);
  assert.equal(pooledLinear16Bytes(), afterFirst, 'the second step took its buffers from the pool and gave them back');
  assert.deepEqual(first, plain);
  assert.deepEqual(second, plain);
});

test('releaseLinear16Activations hands back only product outputs no backward reads; GPT and Llama gradients stay bit for bit', async () => {
  const { GPT } = await import('../../src/models/gpt.ts');
  const { Llama } = await import('../../src/models/llama.ts');
  const { bufferPoolStats } = await import('../../src/tensor/buffer-pool.ts');
  if (!bufferPoolStats().enabled) return; // QKV_BUFFER_POOL=0: nothing can be handed back
  const ids = Tensor.from(Array.from({ length: 2 * 16 }, (_, i) => (i * 5) % 40), [2, 16]);
  const makers = {
    gpt: () => new GPT({ vocab_size: 40, n_layer: 2, n_embd: 32, n_head: 2, n_positions: 16 }, { rng: new Rng(4) }),
    llama: () => new Llama({ vocab_size: 40, num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 16 }, { rng: new Rng(4) }),
  };
  const gradients = (arch: keyof typeof makers, release: boolean): { grads: number[][]; released: string[] } => {
    const model = makers[arch]();
    let names: string[] = [];
    withLinearPrecision('bf16', () => {
      const loss = model.forward(ids, { targets: ids }).loss!;
      const released = release ? releaseLinear16Activations(loss) : [];
      names = released.map((t) => t.gradFn!.name); // before backward frees the graph
      loss.backward({ releaseActivations: true, keep: released });
    }, { recycle: true });
    return { grads: model.parameters().map((p) => Array.from(p.grad!.contiguousData())), released: names };
  };
  const plain = gradients('gpt', false);
  const released = gradients('gpt', true);
  // Per block, the product outputs only added (to the bias, the residual): c_attn's and both c_proj's
  // (c_fc's feeds GELU, which reads it). The products' fp32 inputs are not in the graph at all (stand-ins).
  assert.deepEqual(released.released.sort(), ['linear16', 'linear16', 'linear16', 'linear16', 'linear16', 'linear16']);
  assert.deepEqual(released.grads, plain.grads);
  // Llama: the o_proj / down_proj outputs (only added to the residual); not the q/k/v (views), gate (silu reads it), up (mul reads it).
  const llamaReleased = gradients('llama', true);
  assert.deepEqual(llamaReleased.released.sort(), ['linear16', 'linear16']);
  assert.deepEqual(llamaReleased.grads, gradients('llama', false).grads);

  // Not handed back: an input another op also reads (x.sum()), one whose producer's backward reads its
  // output (exp), a product output that an op reading its input consumes (mul).
  const layer = new Linear(8, 4, { rng: new Rng(6), bias: false }); // the product's output goes straight to mul
  const leaf = Tensor.from(randomArray(32 * 8, new Rng(7)), [32, 8], { requiresGrad: true });
  withLinearPrecision('bf16', () => {
    const shared = leaf.mul(2);
    const exp = leaf.exp();
    const root = layer.forward(shared).mul(shared.narrow(1, 0, 4)).sum().add(shared.sum()).add(layer.forward(exp).mul(2).sum());
    assert.deepEqual(releaseLinear16Activations(root), []);
  });
});
