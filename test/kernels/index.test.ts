// The kernel dispatcher: float32 on the chosen backend, float64 (and mixed) on the reference,
// bit for bit; the backend switch; the default (native when it loads, else wasm).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  adamUpdate, biasGeluBackward, biasGeluForward, crossEntropyForward, elementwise, embeddingScatterAdd, geluTanhForward, getKernelInfo,
  kernelBackend, layerNormForward, matmul, setKernelBackend,
} from '../../src/kernels/index.ts';
import { referenceBackend } from '../../src/kernels/reference/index.ts';
import type { MatmulParams } from '../../src/kernels/types.ts';
import { randomArray } from './fixtures.ts';

/** Which backend a call ran on: spy on every kernel of every backend object, run, restore. */
function backendThatRan(call: () => void): string[] {
  const ran: string[] = [];
  const restore: (() => void)[] = [];
  const names = process.env.QKV_KERNELS === 'reference' ? (['reference'] as const) : (['reference', getKernelInfo().backend] as const);
  for (const name of new Set(names)) {
    const backend = kernelBackend(name) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(backend)) {
      if (typeof value !== 'function') continue;
      backend[key] = (...args: unknown[]) => {
        ran.push(`${name}.${key}`);
        return (value as (...a: unknown[]) => unknown)(...args);
      };
      restore.push(() => { backend[key] = value; });
    }
  }
  try {
    call();
  } finally {
    for (const undo of restore) undo();
  }
  return ran;
}

describe('kernels dispatcher', () => {
  it('defaults to native when the addon loads (else says why), and QKV_KERNELS / setKernelBackend override it', () => {
    const info = getKernelInfo();
    if (process.env.QKV_KERNELS === undefined || process.env.QKV_KERNELS === '') {
      if (info.backend !== 'native') assert.ok(info.fallbackReason, 'a fallback must say why');
      else assert.ok(['avx512', 'avx2', 'portable'].includes(info.simd!), `simd = ${info.simd}`);
    } else {
      assert.equal(info.backend, process.env.QKV_KERNELS);
    }
    assert.ok(info.threads >= 1);
    assert.throws(() => setKernelBackend('gpu' as never), /expected 'native', 'wasm' or 'reference'/);
  });

  it('sends float32 to the chosen backend and float64 or mixed storage to the reference', () => {
    const chosen = getKernelInfo().backend;
    const p: MatmulParams = { batch: 1, m: 3, n: 4, k: 5 };
    assert.deepEqual(backendThatRan(() => matmul(randomArray(15, 1, 1), randomArray(20, 2, 1), new Float32Array(12), p)), [`${chosen}.matmul`]);
    assert.deepEqual(backendThatRan(() => matmul(new Float64Array(15), new Float64Array(20), new Float64Array(12), p)), ['reference.matmul']);
    assert.deepEqual(backendThatRan(() => matmul(new Float32Array(15), new Float64Array(20), new Float32Array(12), p)), ['reference.matmul']);
    assert.deepEqual(backendThatRan(() => geluTanhForward(new Float32Array(3), new Float32Array(3), 3)), [`${chosen}.geluTanhForward`]);
    assert.deepEqual(backendThatRan(() => biasGeluForward(new Float32Array(6), new Float32Array(6), new Float64Array(3), 2, 3)), ['reference.biasGeluForward']);
    assert.deepEqual(backendThatRan(() => biasGeluBackward(null, new Float64Array(3), new Float32Array(6), new Float32Array(6), new Float32Array(3), 2, 3)), [`${chosen}.biasGeluBackward`]);
    assert.deepEqual(backendThatRan(() => embeddingScatterAdd(new Float64Array(6), new Float64Array(3), Int32Array.of(1), 3)), ['reference.embeddingScatterAdd']);
    const s = { beta1: 0.9, beta2: 0.999, l2Penalty: 0, keep: 1, stepSize: 1e-3, biasCorrection2Sqrt: 0.03, eps: 1e-8 };
    assert.deepEqual(backendThatRan(() => adamUpdate(new Float64Array(4), new Float64Array(4), new Float64Array(4), new Float64Array(4), s)), ['reference.adamUpdate']);
  });

  it('elementwise: small ops and negative strides stay on the TypeScript loop, large float32 ones go to the backend', () => {
    const chosen = getKernelInfo().backend;
    const n = 4096;
    const layout = (aStrides: number[], aOffset = 0) => ({ shape: [n], outOffset: 0, outStrides: [1], aOffset, aStrides, bOffset: 0, bStrides: [0] });
    const a = randomArray(n, 9, 1), out = new Float32Array(n);
    assert.deepEqual(backendThatRan(() => elementwise('copy', out, a, null, layout([1]), n)), [`${chosen}.elementwise`]);
    assert.deepEqual(backendThatRan(() => elementwise('copy', out, a, null, { ...layout([1]), shape: [16] }, 16)), ['reference.elementwise']);
    assert.deepEqual(backendThatRan(() => elementwise('copy', out, a, null, layout([-1], n - 1), n)), ['reference.elementwise']);
    assert.equal(out[0], a[n - 1]); // reversed, on the reference
  });

  it('float64 results are the reference’s, bit for bit', () => {
    const N = 5, C = 7;
    const inp = Float64Array.from(randomArray(N * C, 3, 2)), weight = Float64Array.from(randomArray(C, 4, 1)), bias = Float64Array.from(randomArray(C, 5, 1));
    const run = (forward: typeof layerNormForward) => {
      const out = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
      forward(out, mean, rstd, inp, weight, bias, N, C, 1e-5);
      return [out, mean, rstd];
    };
    assert.deepEqual(run(layerNormForward), run(referenceBackend.layerNormForward));
    const logits = Float64Array.from(randomArray(N * C, 6, 3)), targets = Int32Array.of(0, 6, -100, 3, 1);
    const ce = (forward: typeof crossEntropyForward) => {
      const losses = new Float64Array(N), lse = new Float64Array(N);
      forward(losses, lse, logits, targets, N, C, -100, 0.1);
      return [losses, lse];
    };
    assert.deepEqual(ce(crossEntropyForward), ce(referenceBackend.crossEntropyForward));
  });

  it("setKernelBackend('reference') runs float32 on the reference", () => {
    const before = getKernelInfo().backend;
    setKernelBackend('reference');
    try {
      assert.equal(getKernelInfo().backend, 'reference');
      assert.deepEqual(backendThatRan(() => matmul(new Float32Array(6), new Float32Array(6), new Float32Array(4), { batch: 1, m: 2, n: 2, k: 3 })), ['reference.matmul']);
    } finally {
      setKernelBackend(before);
    }
  });
});
