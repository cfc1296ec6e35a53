/**
 * GPT-2's tanh GELU, forward and backward, on the wasm kernels (.../assembly/activation.ts), and
 * the vector exp they are built on. Float32 arrays are copied into the arena of the shared
 * memory, computed there on one thread, and copied out.
 *
 * One thread: at the GPT MLP's (B·T, 4C) = (1024, 512) the kernels run ~1.0 ms (forward) and
 * ~2.4 ms (backward, its slope in float64). Split in slices across the pool they measured slower
 * here (1.0–1.2 and 2.6 ms: the worker's wake-up, and the cores shared with other processes).
 *
 * @example
 * const x = Float32Array.of(-1, 0, 1), y = new Float32Array(3), dx = new Float32Array(3);
 * geluTanhForwardWasm(y, x, null);
 * geluTanhBackwardWasm(dx, Float32Array.of(1, 1, 1), x);
 */
import { Arena } from './runtime.ts';
import { loadKernels } from './loader.ts';

/** y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) over x's first n values; `saved` (if given) gets exp(2u). */
export function geluTanhForwardWasm(y: Float32Array, x: Float32Array, saved: Float32Array | null, n = x.length): void {
  checkLengths('geluTanhForward', n, { y, x, ...(saved === null ? {} : { saved }) });
  if (n === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const xPtr = arena.floats(n), yPtr = arena.floats(n);
  const savedPtr = saved === null ? 0 : arena.floats(n);
  const heap = arena.commit();
  heap.set(x.subarray(0, n), xPtr >>> 2);
  kernels.exports.geluTanhForward(n, xPtr, yPtr, savedPtr);
  y.set(heap.subarray(yPtr >>> 2, (yPtr >>> 2) + n));
  if (saved !== null) saved.set(heap.subarray(savedPtr >>> 2, (savedPtr >>> 2) + n));
}

/** dx = g · gelu'(x) over the first n values (written, not accumulated). */
export function geluTanhBackwardWasm(dx: Float32Array, g: Float32Array, x: Float32Array, n = x.length): void {
  checkLengths('geluTanhBackward', n, { dx, g, x });
  if (n === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const xPtr = arena.floats(n), gPtr = arena.floats(n);
  const heap = arena.commit();
  heap.set(x.subarray(0, n), xPtr >>> 2);
  heap.set(g.subarray(0, n), gPtr >>> 2);
  // dx overwrites g in place: each lane reads its g before writing.
  kernels.exports.geluTanhBackward(n, xPtr, gPtr, gPtr);
  dx.set(heap.subarray(gPtr >>> 2, (gPtr >>> 2) + n));
}

/** y = exp(x) with the kernels' vector exp (relative error ~1e-7; clamped to [e^−87.3, e^88.3]). */
export function expWasm(y: Float32Array, x: Float32Array): void {
  checkLengths('exp', x.length, { y });
  const n = x.length;
  if (n === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const xPtr = arena.floats(n);
  const heap = arena.commit();
  heap.set(x, xPtr >>> 2);
  kernels.exports.vexp(n, xPtr, xPtr);
  y.set(heap.subarray(xPtr >>> 2, (xPtr >>> 2) + n));
}

function checkLengths(kernel: string, n: number, arrays: Record<string, Float32Array>): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${kernel} (wasm): n must be a non-negative integer, got ${n}`);
  for (const [name, array] of Object.entries(arrays)) {
    if (array.length < n) throw new RangeError(`${kernel} (wasm): ${name} needs ${n} elements, found ${array.length}`);
  }
}
