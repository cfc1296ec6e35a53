// The kernel dispatcher: float32 on the wasm path, float64 on the reference, the backend switch,
// and the fast path agreeing with the reference kernel (the oracle the tensor engine keeps).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getKernelInfo, matmul, setKernelBackend, setKernelThreads, waitForKernelThreads } from '../../src/kernels/index.ts';
import { matmulReference } from '../../src/kernels/reference/matmul.ts';
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
