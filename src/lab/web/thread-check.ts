/**
 * Proof that the wasm kernels' threads compute, wherever they run (the page's worker, or Node):
 * one matmul large enough to be split across the pool, checked against a float64 loop, and the
 * number of its chunks the helper threads took. The tiny models of the lab are below the split
 * threshold (one thread wins there), so their runs alone would not show it.
 */
import { matmulWasm } from '../../kernels/wasm/matmul.ts';
import { wasmWorkerChunks } from '../../kernels/wasm/runtime.ts';
import { Rng } from '../../tensor/random.ts';

export interface ThreadCheck {
  /** Chunks of the check's matmul run by helper threads (0: the caller did it all). */
  workerChunks: number;
  /** Largest |wasm − float64| / (1 + |float64|) over the output. */
  maxRelativeError: number;
  /** Time of the last call. */
  milliseconds: number;
  /** Calls made until a helper took a chunk (at most 20). */
  rounds: number;
}

/** C (n×n) = A·B on the wasm kernels, n = 256 (33.6 MFLOP, above the split threshold). */
export function checkWasmThreads(n = 256): ThreadCheck {
  const rng = new Rng(7);
  const a = Float32Array.from({ length: n * n }, () => rng.uniform() - 0.5);
  const b = Float32Array.from({ length: n * n }, () => rng.uniform() - 0.5);
  const out = new Float32Array(n * n);
  const before = wasmWorkerChunks();
  // A helper sleeping through one call (a loaded machine) leaves its chunks to the caller; a
  // few more calls give it the chance to wake.
  let milliseconds = 0;
  let rounds = 0;
  while (rounds < 20 && (rounds === 0 || wasmWorkerChunks() === before)) {
    const started = performance.now();
    matmulWasm(a, b, out, { batch: 1, m: n, n, k: n });
    milliseconds = performance.now() - started;
    rounds++;
  }
  const workerChunks = wasmWorkerChunks() - before;
  let maxRelativeError = 0;
  for (let i = 0; i < n; i += 3) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let q = 0; q < n; q++) sum += a[i * n + q] * b[q * n + j];
      maxRelativeError = Math.max(maxRelativeError, Math.abs(out[i * n + j] - sum) / (1 + Math.abs(sum)));
    }
  }
  return { workerChunks, maxRelativeError, milliseconds, rounds };
}
