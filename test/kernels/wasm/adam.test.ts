// The AdamW / Adam step on wasm against `adamUpdate`'s TypeScript loop (src/optim/adam.ts, run
// on float64 copies: the reference), over several steps on awkward lengths (1, 7, 33, 129, 65·7:
// not multiples of the 4 SIMD lanes), on 1 and 2 threads; and the same bits from the relaxed-SIMD
// and plain-SIMD builds, so a run resumed on another machine continues bit for bit.
//
// Tolerance: parameters within 1e-6 of the reference relative to max(1, |p|) after 5 steps (lr
// 1e-2, so ~1e-4 of each step: float32 rounding of m, v and the update); moments within 1e-6
// relative to max(|reference|, the scale of what they average: 0.1 for g, 0.01 for g²), since
// m can cancel to near 0 where a relative error means nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { adamUpdateWasm } from '../../../src/kernels/wasm/adam.ts';
import type { AdamStepScalars } from '../../../src/kernels/wasm/adam.ts';
import { getKernelInfo, setKernelBackend } from '../../../src/kernels/index.ts';
import { setWasmThreads } from '../../../src/kernels/wasm/runtime.ts';
import { adamUpdate } from '../../../src/optim/adam.ts';
import { randomArray } from '../fixtures.ts';


const HYPER = { lr: 1e-2, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: 0.1 };

/** The scalars adamUpdate derives for `step`, as it hands them to the kernel. */
function scalars(step: number, decoupled: boolean): AdamStepScalars {
  const [beta1, beta2] = HYPER.betas;
  return {
    beta1, beta2, eps: HYPER.eps,
    l2Penalty: decoupled ? 0 : HYPER.weightDecay,
    keep: decoupled ? 1 - HYPER.lr * HYPER.weightDecay : 1,
    stepSize: HYPER.lr / (1 - beta1 ** step),
    biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** step),
  };
}

function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, floor: number): void {
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= tolerance * Math.max(floor, Math.abs(expected[i])))) {
      assert.fail(`${what}: index ${i}: wasm ${actual[i]}, reference ${expected[i]}, |error| ${error.toExponential(2)}`);
    }
  }
}

for (const threads of [1, 2]) {
  describe(`adam wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('5 steps of AdamW and of Adam match the float64 reference on awkward lengths', () => {
      setWasmThreads(threads);
      let seed = 1;
      for (const n of [1, 7, 33, 129, 65 * 7]) {
        for (const decoupled of [true, false]) {
          const label = `${decoupled ? 'adamW' : 'adam'} (n ${n})`;
          const param = randomArray(n, seed++, 1), m = new Float32Array(n), v = new Float32Array(n);
          const param64 = Float64Array.from(param), m64 = new Float64Array(n), v64 = new Float64Array(n);
          for (let step = 1; step <= 5; step++) {
            const grad = randomArray(n, seed++, 0.1);
            adamUpdateWasm(param, grad, m, v, scalars(step, decoupled));
            adamUpdate(param64, Float64Array.from(grad), m64, v64, HYPER, step, decoupled); // float64: the TypeScript loop
          }
          assertClose(`${label} param`, param, param64, 1e-6, 1);
          assertClose(`${label} expAvg`, m, m64, 1e-6, 0.1);
          assertClose(`${label} expAvgSq`, v, v64, 1e-6, 0.01);
        }
      }
    });
  });
}

describe('adam wasm, dispatch and determinism', () => {
  it('adamUpdate runs float32 on wasm (the same bits as the kernel) and the reference when asked', () => {
    const n = 33;
    const run = (update: (p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, step: number) => void): Float32Array => {
      const param = randomArray(n, 5, 1), m = new Float32Array(n), v = new Float32Array(n);
      for (let step = 1; step <= 3; step++) update(param, randomArray(n, 10 + step, 0.1), m, v, step);
      return param;
    };
    const before = getKernelInfo().backend;
    setKernelBackend('wasm');
    const viaOptimizer = run((p, g, m, v, step) => adamUpdate(p, g, m, v, HYPER, step, true));
    const viaKernel = run((p, g, m, v, step) => adamUpdateWasm(p, g, m, v, scalars(step, true)));
    assert.deepEqual(viaOptimizer, viaKernel);
    setKernelBackend('reference');
    try {
      const viaReference = run((p, g, m, v, step) => adamUpdate(p, g, m, v, HYPER, step, true));
      assert.notDeepEqual(viaReference, viaKernel, 'the reference (float64 maths) should differ from the kernel in the last bits');
      assertClose('adamW reference vs wasm', viaReference, viaKernel, 1e-6, 1);
    } finally {
      setKernelBackend(before);
    }
  });

  it('the relaxed-SIMD and plain-SIMD builds give the same bits', () => {
    // Each process hashes 5 AdamW steps over 1027 values; QKV_SIMD=simd forces the plain build.
    const script = `
      import { createHash } from 'node:crypto';
      import { adamUpdateWasm } from './src/kernels/wasm/adam.ts';
      import { wasmVariant } from './src/kernels/wasm/runtime.ts';
      let state = 3;
      const random = (length, scale) => Float32Array.from({ length }, () => scale * ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1));
      const n = 1027, param = random(n, 1), m = new Float32Array(n), v = new Float32Array(n);
      for (let step = 1; step <= 5; step++) {
        adamUpdateWasm(param, random(n, 0.1), m, v, { beta1: 0.9, beta2: 0.999, eps: 1e-8, l2Penalty: 0, keep: 1 - 1e-3,
          stepSize: 1e-2 / (1 - 0.9 ** step), biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** step) });
      }
      const hash = createHash('sha256');
      for (const array of [param, m, v]) hash.update(new Uint8Array(array.buffer));
      console.log(JSON.stringify({ variant: wasmVariant(), hash: hash.digest('hex') }));
    `;
    const results = [undefined, 'simd'].map((simd) => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, QKV_SIMD: simd ?? '' },
      });
      assert.equal(result.status, 0, `child exited ${result.status}: ${result.stderr}`);
      return JSON.parse(result.stdout.trim()) as { variant: string; hash: string };
    });
    assert.equal(results[1].variant, 'simd');
    assert.equal(results[0].hash, results[1].hash, `adam: ${results[0].variant} build and simd build differ`);
  });
});
