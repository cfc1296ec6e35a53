// The kernel dispatcher: float32 on the wasm path, float64 on the reference, the backend switch,
// and the fast path agreeing with the reference kernel (the oracle the tensor engine keeps).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crossEntropyBackwardWasm, crossEntropyForwardWasm } from '../../src/kernels/crossentropy-wasm.ts';
import {
  crossEntropyBackward, crossEntropyForward, getKernelInfo, layerNormBackward, layerNormForward, matmul,
  setKernelBackend, setKernelThreads, tryGeluTanhBackward, tryGeluTanhForward, waitForKernelThreads,
  rmsNormBackward, rmsNormForward, tryBiasGeluBackward, tryBiasGeluForward, tryEmbeddingScatterAdd,
} from '../../src/kernels/index.ts';
import { rmsNormBackwardWasm, rmsNormForwardWasm } from '../../src/kernels/rmsnorm-wasm.ts';
import { layerNormBackwardWasm, layerNormForwardWasm } from '../../src/kernels/norm-wasm.ts';
import * as crossEntropyReference from '../../src/kernels/reference/crossentropy.ts';
import { matmulReference } from '../../src/kernels/reference/matmul.ts';
import * as normReference from '../../src/kernels/reference/norm.ts';
import { gelu } from '../../src/tensor/ops/elementwise.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import type { MatmulParams } from '../../src/kernels/types.ts';

function randomArray(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

describe('kernels dispatcher', () => {
  it('reports the wasm backend, its SIMD build and thread count', () => {
    setKernelBackend('wasm');
    setKernelThreads(2);
    assert.equal(waitForKernelThreads(), true);
    const info = getKernelInfo();
    assert.equal(info.backend, 'wasm', `wasm did not load: ${info.fallbackReason}`);
    assert.ok(info.simd === 'relaxed' || info.simd === 'simd', `simd = ${info.simd}`);
    assert.equal(info.threads, 2);
  });

  it('agrees with matmulReference on float32, every flag combination, 2 threads', () => {
    const cases: MatmulParams[] = [];
    for (const transA of [false, true]) for (const transB of [false, true]) for (const accumulate of [false, true]) {
      cases.push({ batch: 2, m: 65, n: 129, k: 257, transA, transB, accumulate });
      cases.push({ batch: 3, m: 7, n: 33, k: 9, strideB: 0, transA, transB, accumulate });
    }
    let seed = 1;
    for (const p of cases) {
      const a = randomArray(p.batch * p.m * p.k, seed++);
      const b = randomArray(p.batch * p.k * p.n, seed++);
      const initial = randomArray(p.batch * p.m * p.n, seed++);
      const fast = Float32Array.from(initial);
      const reference = Float32Array.from(initial);
      matmul(a, b, fast, p);
      matmulReference(a, b, reference, p);
      const tolerance = 1e-4 * Math.sqrt(p.k);
      for (let i = 0; i < fast.length; i++) {
        const error = Math.abs(fast[i] - reference[i]);
        assert.ok(error <= tolerance * (1 + Math.abs(reference[i])), `matmul ${JSON.stringify(p)}: out[${i}] = ${fast[i]}, reference ${reference[i]}, |error| ${error}`);
      }
    }
  });

  it('sends float64 to the reference, bit for bit', () => {
    const p: MatmulParams = { batch: 1, m: 5, n: 6, k: 7, transB: true };
    const a = Float64Array.from(randomArray(35, 3));
    const b = Float64Array.from(randomArray(42, 4));
    const viaDispatcher = new Float64Array(30);
    const direct = new Float64Array(30);
    matmul(a, b, viaDispatcher, p);
    matmulReference(a, b, direct, p);
    assert.deepEqual(viaDispatcher, direct);
  });

  it("setKernelBackend('reference') runs float32 on the reference, bit for bit", () => {
    setKernelBackend('reference');
    try {
      assert.equal(getKernelInfo().backend, 'reference');
      const p: MatmulParams = { batch: 1, m: 9, n: 10, k: 11 };
      const a = randomArray(99, 5);
      const b = randomArray(110, 6);
      const viaDispatcher = new Float32Array(90);
      const direct = new Float32Array(90);
      matmul(a, b, viaDispatcher, p);
      matmulReference(a, b, direct, p);
      assert.deepEqual(viaDispatcher, direct);
    } finally {
      setKernelBackend('wasm');
    }
    assert.throws(() => setKernelBackend('gpu' as never), /expected 'wasm' or 'reference'/);
  });
});

describe('kernels dispatcher: fused kernels', () => {
  const N = 5, C = 7;

  /** layerNorm forward + backward through `forward`/`backward`, all outputs in one list. */
  function layerNormOutputs(
    f32: boolean,
    forward: typeof normReference.layerNormForward,
    backward: typeof normReference.layerNormBackward,
  ): ArrayLike<number>[] {
    const make = (a: Float32Array) => (f32 ? a : Float64Array.from(a));
    const inp = make(randomArray(N * C, 11)), weight = make(randomArray(C, 12)), bias = make(randomArray(C, 13)), dout = make(randomArray(N * C, 14));
    const out = f32 ? new Float32Array(N * C) : new Float64Array(N * C), dinp = f32 ? new Float32Array(N * C) : new Float64Array(N * C);
    const mean = new Float64Array(N), rstd = new Float64Array(N), dweight = new Float64Array(C), dbias = new Float64Array(C);
    forward(out, mean, rstd, inp, weight, bias, N, C, 1e-5);
    backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    return [out, mean, rstd, dinp, dweight, dbias];
  }

  function crossEntropyOutputs(
    f32: boolean,
    forward: typeof crossEntropyReference.crossEntropyForward,
    backward: typeof crossEntropyReference.crossEntropyBackward,
  ): ArrayLike<number>[] {
    const logits = f32 ? randomArray(N * C, 21) : Float64Array.from(randomArray(N * C, 21));
    const targets = Int32Array.of(0, 6, -100, 3, 1);
    const losses = f32 ? new Float32Array(N) : new Float64Array(N), lse = new Float64Array(N);
    const dlogits = f32 ? new Float32Array(N * C) : new Float64Array(N * C);
    forward(losses, lse, logits, targets, N, C, -100, 0.1);
    backward(dlogits, logits, lse, targets, new Float64Array(N).fill(0.25), N, C, -100, 0.1);
    return [losses, lse, dlogits];
  }

  it('runs float32 layerNorm and cross-entropy on wasm, float64 on the reference, bit for bit', () => {
    setKernelBackend('wasm');
    const wasmLayerNorm: [typeof normReference.layerNormForward, typeof normReference.layerNormBackward] = [
      (out, mean, rstd, inp, weight, bias, n, c, eps) => layerNormForwardWasm(out as Float32Array, mean, rstd, inp as Float32Array, weight as Float32Array, bias as Float32Array, n, c, eps),
      (dinp, dweight, dbias, dout, inp, weight, mean, rstd, n, c) => layerNormBackwardWasm(dinp as Float32Array, dweight, dbias, dout as Float32Array, inp as Float32Array, weight as Float32Array, mean, rstd, n, c),
    ];
    const wasmCrossEntropy: [typeof crossEntropyReference.crossEntropyForward, typeof crossEntropyReference.crossEntropyBackward] = [
      (losses, lse, logits, targets, n, c, ignore, smoothing) => crossEntropyForwardWasm(losses as Float32Array, lse, logits as Float32Array, targets, n, c, ignore, smoothing),
      (dlogits, logits, lse, targets, scales, n, c, ignore, smoothing) => crossEntropyBackwardWasm(dlogits as Float32Array, logits as Float32Array, lse, targets, scales, n, c, ignore, smoothing),
    ];
    assert.deepEqual(layerNormOutputs(true, layerNormForward, layerNormBackward), layerNormOutputs(true, ...wasmLayerNorm), 'layerNorm float32 → wasm');
    assert.deepEqual(layerNormOutputs(false, layerNormForward, layerNormBackward), layerNormOutputs(false, normReference.layerNormForward, normReference.layerNormBackward), 'layerNorm float64 → reference');
    assert.deepEqual(crossEntropyOutputs(true, crossEntropyForward, crossEntropyBackward), crossEntropyOutputs(true, ...wasmCrossEntropy), 'crossEntropy float32 → wasm');
    assert.deepEqual(
      crossEntropyOutputs(false, crossEntropyForward, crossEntropyBackward),
      crossEntropyOutputs(false, crossEntropyReference.crossEntropyForward, crossEntropyReference.crossEntropyBackward),
      'crossEntropy float64 → reference',
    );
    setKernelBackend('reference');
    try {
      assert.deepEqual(
        layerNormOutputs(true, layerNormForward, layerNormBackward),
        layerNormOutputs(true, normReference.layerNormForward, normReference.layerNormBackward),
        "layerNorm float32 with setKernelBackend('reference') → reference",
      );
      assert.equal(tryGeluTanhForward(new Float32Array(3), new Float32Array(3), null, 3), false, "gelu with setKernelBackend('reference') → the caller's reference");
    } finally {
      setKernelBackend('wasm');
    }
  });

  it('tryGeluTanh* take float32 only', () => {
    setKernelBackend('wasm');
    assert.equal(tryGeluTanhForward(new Float32Array(3), new Float32Array(3), null, 3), true);
    assert.equal(tryGeluTanhBackward(new Float32Array(3), new Float32Array(3), new Float32Array(3), 3), true);
    assert.equal(tryGeluTanhForward(new Float64Array(3), new Float64Array(3), null, 3), false);
    assert.equal(tryGeluTanhForward(new Float32Array(3), new Float32Array(3), new Float64Array(3), 3), false);
    assert.equal(tryGeluTanhBackward(new Float32Array(3), new Float64Array(3), new Float32Array(3), 3), false);
  });

  it("gelu's gradient is right when the backend switches between its forward and backward", () => {
    // The wasm forward saves nothing for the backward (the reference forward saves exp(2u)), so
    // each backward must cope with the other forward.
    const x = Tensor.from([-3, -0.5, 0, 0.7, 2, 5], [6]);
    x.requiresGrad = true;
    const expected = Float64Array.from(x.data, (v) => {
      const t = Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3));
      return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * v * v);
    });
    for (const [forwardBackend, backwardBackend] of [['wasm', 'reference'], ['reference', 'wasm']] as const) {
      try {
        setKernelBackend(forwardBackend);
        const y = gelu(x, 'tanh');
        setKernelBackend(backwardBackend);
        x.grad = null;
        y.backward({ gradient: Tensor.ones([6]) });
        const grad = x.grad!.data;
        for (let i = 0; i < 6; i++) {
          assert.ok(Math.abs(grad[i] - expected[i]) <= 2e-7 * Math.max(1, Math.abs(expected[i])), `gelu forward on ${forwardBackend}, backward on ${backwardBackend}: index ${i}: ${grad[i]} vs ${expected[i]}`);
        }
      } finally {
        setKernelBackend('wasm');
      }
    }
  });
});

describe('kernels dispatcher: rmsNorm, bias + GELU, embedding scatter-add', () => {
  const N = 5, C = 7;

  function rmsNormOutputs(
    f32: boolean,
    forward: typeof normReference.rmsNormForward,
    backward: typeof normReference.rmsNormBackward,
  ): ArrayLike<number>[] {
    const make = (a: Float32Array) => (f32 ? a : Float64Array.from(a));
    const inp = make(randomArray(N * C, 31)), weight = make(randomArray(C, 32)), dout = make(randomArray(N * C, 33));
    const out = f32 ? new Float32Array(N * C) : new Float64Array(N * C), dinp = f32 ? new Float32Array(N * C) : new Float64Array(N * C);
    const rrms = new Float64Array(N), dweight = new Float64Array(C);
    forward(out, rrms, inp, weight, N, C, 1e-6);
    backward(dinp, dweight, dout, inp, weight, rrms, N, C);
    return [out, rrms, dinp, dweight];
  }

  it('runs float32 rmsNorm on wasm, float64 (and the reference backend) on the reference, bit for bit', () => {
    setKernelBackend('wasm');
    const wasmRmsNorm: [typeof normReference.rmsNormForward, typeof normReference.rmsNormBackward] = [
      (out, rrms, inp, weight, n, c, eps) => rmsNormForwardWasm(out as Float32Array, rrms, inp as Float32Array, weight as Float32Array, n, c, eps),
      (dinp, dweight, dout, inp, weight, rrms, n, c) => rmsNormBackwardWasm(dinp as Float32Array, dweight, dout as Float32Array, inp as Float32Array, weight as Float32Array, rrms, n, c),
    ];
    assert.deepEqual(rmsNormOutputs(true, rmsNormForward, rmsNormBackward), rmsNormOutputs(true, ...wasmRmsNorm), 'rmsNorm float32 → wasm');
    assert.deepEqual(rmsNormOutputs(false, rmsNormForward, rmsNormBackward), rmsNormOutputs(false, normReference.rmsNormForward, normReference.rmsNormBackward), 'rmsNorm float64 → reference');
    setKernelBackend('reference');
    try {
      assert.deepEqual(
        rmsNormOutputs(true, rmsNormForward, rmsNormBackward),
        rmsNormOutputs(true, normReference.rmsNormForward, normReference.rmsNormBackward),
        "rmsNorm float32 with setKernelBackend('reference') → reference",
      );
      assert.equal(tryBiasGeluForward(new Float32Array(3), new Float32Array(3), new Float32Array(3), 1, 3), false, "biasGelu with setKernelBackend('reference') → the caller's reference");
      assert.equal(tryEmbeddingScatterAdd(new Float32Array(6), new Float32Array(3), Int32Array.of(1), 3), false, "scatter-add with setKernelBackend('reference') → the caller's reference");
    } finally {
      setKernelBackend('wasm');
    }
  });

  it('tryBiasGelu* and tryEmbeddingScatterAdd take float32 only', () => {
    setKernelBackend('wasm');
    const f32 = () => new Float32Array(6), f64 = () => new Float64Array(6);
    assert.equal(tryBiasGeluForward(f32(), f32(), f32(), 2, 3), true);
    assert.equal(tryBiasGeluForward(f64(), f64(), f64(), 2, 3), false);
    assert.equal(tryBiasGeluForward(f32(), f32(), f64(), 2, 3), false);
    assert.equal(tryBiasGeluBackward(f32(), new Float64Array(3), f32(), f32(), f32(), 2, 3), true);
    assert.equal(tryBiasGeluBackward(null, new Float64Array(3), f32(), f32(), f32(), 2, 3), true);
    assert.equal(tryBiasGeluBackward(f64(), new Float64Array(3), f64(), f64(), f64(), 2, 3), false);
    assert.equal(tryEmbeddingScatterAdd(f32(), f32(), Int32Array.of(1, 0), 3), true);
    assert.equal(tryEmbeddingScatterAdd(f64(), f64(), Int32Array.of(1, 0), 3), false);
  });
});
