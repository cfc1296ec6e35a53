// Cross-entropy on wasm against the reference (src/kernels/reference/crossentropy.ts) run in
// float64 on the same float32 logits: awkward shapes (rows 1, 3, 65 × classes 1, 7, 33, 129,
// and V = 96, 1024 of the GPT benchmarks), ignored rows, label smoothing, per-row scales (one of
// them 0), large logits, on 1 and 2 threads.
//
// Tolerance 1e-6 relative to max(1, |reference|) for losses, log-normalisers and gradients: the
// float32 sum of exp over C classes with expV's ~1e-7 error per term.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crossEntropyBackwardWasm, crossEntropyForwardWasm } from '../../../src/kernels/wasm/crossentropy.ts';
import { crossEntropyBackward, crossEntropyForward } from '../../../src/kernels/reference/crossentropy.ts';
import { setWasmThreads } from '../../../src/kernels/wasm/runtime.ts';
import { randomArray } from '../fixtures.ts';


function assertClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (!(error <= tolerance * Math.max(1, Math.abs(expected[i])))) {
      assert.fail(`${what}: index ${i}: wasm ${actual[i]}, reference ${expected[i]}, |error| ${error.toExponential(2)} > ${tolerance} · max(1, |reference|)`);
    }
  }
}

const IGNORE = -100;

function check(N: number, C: number, smoothing: number, seed: number, logitScale: number): void {
  const label = `crossEntropy (N ${N}, C ${C}, smoothing ${smoothing})`;
  const logits = randomArray(N * C, seed, logitScale);
  // Every 4th row ignored (row 0 of 3+ rows too), the rest spread over the classes, last class included.
  const targets = Int32Array.from({ length: N }, (_, row) => (N > 2 && row % 4 === 0 ? IGNORE : (row * 31 + C - 1) % C));
  const scales = Float64Array.from({ length: N }, (_, row) => (row === 1 ? 0 : 0.5 + row / N));

  const losses = new Float32Array(N), lse = new Float64Array(N);
  crossEntropyForwardWasm(losses, lse, logits, targets, N, C, IGNORE, smoothing);
  const losses64 = new Float64Array(N), lse64 = new Float64Array(N);
  crossEntropyForward(losses64, lse64, Float64Array.from(logits), targets, N, C, IGNORE, smoothing);
  assertClose(`${label} forward losses`, losses, losses64, 1e-6);
  assertClose(`${label} forward log-normalisers`, lse, lse64, 1e-6);

  const dlogits = new Float32Array(N * C).fill(7); // every element must be written
  crossEntropyBackwardWasm(dlogits, logits, lse, targets, scales, N, C, IGNORE, smoothing);
  const dlogits64 = new Float64Array(N * C);
  crossEntropyBackward(dlogits64, Float64Array.from(logits), lse64, targets, scales, N, C, IGNORE, smoothing);
  assertClose(`${label} backward dlogits`, dlogits, dlogits64, 1e-6);
}

for (const threads of [1, 2]) {
  describe(`crossEntropy wasm, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('forward and backward match the float64 reference on awkward shapes, ignored rows and smoothing', () => {
      setWasmThreads(threads);
      let seed = 1;
      for (const N of [1, 3, 65]) {
        for (const C of [1, 7, 33, 129]) {
          for (const smoothing of [0, 0.1]) check(N, C, smoothing, seed++, 4);
        }
      }
      for (const C of [96, 1024]) check(65, C, 0, seed++, 4);
    });
  });
}

describe('crossEntropy wasm, edge cases', () => {
  it('logits of ±1e4 stay finite (the max is subtracted before exp)', () => {
    check(3, 33, 0.1, 77, 1e4);
  });

  it('refuses targets out of range and short arrays, naming them', () => {
    const logits = new Float32Array(6), lse = new Float64Array(2), losses = new Float32Array(2);
    assert.throws(() => crossEntropyForwardWasm(losses, lse, logits, Int32Array.of(0, 3), 2, 3, IGNORE, 0), /crossEntropyForward \(wasm\): target 3 at row 1 is out of range for 3 classes/);
    assert.throws(() => crossEntropyForwardWasm(losses, lse, new Float32Array(5), Int32Array.of(0, 1), 2, 3, IGNORE, 0), /crossEntropyForward \(wasm\): logits need N·C = 6 elements, found 5/);
    assert.throws(() => crossEntropyBackwardWasm(new Float32Array(5), logits, lse, Int32Array.of(0, 1), [1, 1], 2, 3, IGNORE, 0), /crossEntropyBackward \(wasm\): dlogits needs 6 elements, found 5/);
  });
});
