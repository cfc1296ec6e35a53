// Loading the wasm kernels: shared memory, the relaxed-SIMD / plain-SIMD choice, and the plain
// build computing right (a child process forces it with QKV_SIMD=simd).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { loadKernels } from '../../../src/kernels/wasm/loader.ts';

describe('wasm kernel loader', () => {
  it('loads one module on a shared, growable memory and picks a SIMD build', () => {
    const kernels = loadKernels();
    assert.ok(kernels.variant === 'relaxed' || kernels.variant === 'simd', `variant ${kernels.variant}`);
    assert.ok(kernels.memory.buffer instanceof SharedArrayBuffer, 'memory is not shared');
    assert.ok(kernels.exports.workspaceBytes() > 0);
    assert.equal(loadKernels(), kernels, 'loadKernels should load once per process');
  });

  it('computes right on the plain-SIMD build (QKV_SIMD=simd), on 1 and 2 threads', () => {
    // The same check for both thread counts: C = A·Bᵀ with accumulate, against a float64 loop.
    const script = `
      import { matmulWasm, setWasmParallelMinFlops, setWasmThreads, waitForWasmWorkers, wasmVariant } from './src/kernels/wasm/matmul.ts';
      setWasmParallelMinFlops(1 << 20);
      const m = 67, n = 130, k = 300;
      let state = 7;
      const random = (length) => Float32Array.from({ length }, () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1);
      const a = random(m * k), b = random(n * k), start = random(m * n);
      let worst = 0;
      for (const threads of [1, 2]) {
        setWasmThreads(threads); waitForWasmWorkers();
        const out = Float32Array.from(start);
        matmulWasm(a, b, out, { batch: 1, m, n, k, transB: true, accumulate: true });
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let sum = start[i * n + j];
          for (let q = 0; q < k; q++) sum += a[i * k + q] * b[j * k + q];
          worst = Math.max(worst, Math.abs(out[i * n + j] - sum) / (1 + Math.abs(sum)));
        }
      }
      console.log(JSON.stringify({ variant: wasmVariant(), worst }));
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, QKV_SIMD: 'simd' },
    });
    assert.equal(result.status, 0, `child exited ${result.status}: ${result.stderr}`);
    const { variant, worst } = JSON.parse(result.stdout.trim()) as { variant: string; worst: number };
    assert.equal(variant, 'simd');
    const tolerance = 1e-4 * Math.sqrt(300);
    assert.ok(worst <= tolerance, `matmul wasm (simd build): worst relative error ${worst} > ${tolerance}`);
  });
});
