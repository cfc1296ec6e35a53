/**
 * Bias add then tanh GELU in one pass, forward and backward, on the wasm kernels
 * (.../assembly/bias-gelu.ts): y = gelu_tanh(x + bias) for the MLP's first projection, so the
 * pre-activation x + bias is never materialised. Float32 arrays are copied into the arena of
 * the shared memory, computed there on one thread, and copied out.
 *
 * Legend: N = rows (B·T), C = channels (the MLP's 4·n_embd). x, y, g, dx are (N, C); bias (C);
 * dbias is a float64 accumulator (`+=`), summed over the rows in float32 by the kernel.
 *
 * @example
 * biasGeluForwardWasm(y, x, bias, N, C);
 * biasGeluBackwardWasm(dx, dbias, g, x, bias, N, C);
 */
import { Arena } from './runtime.ts';
import { loadKernels } from './loader.ts';

/** y = gelu_tanh(x + bias), bias broadcast over the N rows. */
export function biasGeluForwardWasm(y: Float32Array, x: Float32Array, bias: Float32Array, N: number, C: number): void {
  checkShape('biasGeluForward', N, C, { y, x }, { bias });
  if (N === 0 || C === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const size = N * C;
  const xPtr = arena.floats(size), biasPtr = arena.floats(C);
  const heap = arena.commit();
  heap.set(x.subarray(0, size), xPtr >>> 2);
  heap.set(bias.subarray(0, C), biasPtr >>> 2);
  // y overwrites x in place: each lane reads its x before writing.
  kernels.exports.biasGeluForward(N, C, xPtr, biasPtr, xPtr);
  y.set(heap.subarray(xPtr >>> 2, (xPtr >>> 2) + size));
}

/** dx = g·gelu_tanh'(x + bias) (written; skipped when null), dbias += Σ_rows dx (skipped when null). */
export function biasGeluBackwardWasm(
  dx: Float32Array | null, dbias: Float64Array | null, g: Float32Array, x: Float32Array, bias: Float32Array, N: number, C: number,
): void {
  checkShape('biasGeluBackward', N, C, { g, x, ...(dx === null ? {} : { dx }) }, { bias, ...(dbias === null ? {} : { dbias }) });
  if (N === 0 || C === 0 || (dx === null && dbias === null)) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const size = N * C;
  const xPtr = arena.floats(size), gPtr = arena.floats(size), biasPtr = arena.floats(C);
  const dbiasPtr = dbias === null ? 0 : arena.floats(C);
  const heap = arena.commit();
  heap.set(x.subarray(0, size), xPtr >>> 2);
  heap.set(g.subarray(0, size), gPtr >>> 2);
  heap.set(bias.subarray(0, C), biasPtr >>> 2);
  if (dbias !== null) heap.fill(0, dbiasPtr >>> 2, (dbiasPtr >>> 2) + C);
  // dx overwrites g in place: each lane reads its g before writing.
  kernels.exports.biasGeluBackward(N, C, xPtr, biasPtr, gPtr, gPtr, dbiasPtr);
  if (dx !== null) dx.set(heap.subarray(gPtr >>> 2, (gPtr >>> 2) + size));
  if (dbias !== null) for (let c = 0; c < C; c++) dbias[c] += heap[(dbiasPtr >>> 2) + c];
}

function checkShape(kernel: string, N: number, C: number, rows: Record<string, Float32Array>, features: Record<string, Float32Array | Float64Array>): void {
  for (const [name, value] of [['N', N], ['C', C]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${kernel} (wasm): ${name} must be a non-negative integer, got ${value}`);
  }
  for (const [name, array] of Object.entries(rows)) {
    if (array.length < N * C) throw new RangeError(`${kernel} (wasm): ${name} needs ${N * C} elements, found ${array.length}`);
  }
  for (const [name, array] of Object.entries(features)) {
    if (array.length < C) throw new RangeError(`${kernel} (wasm): ${name} needs ${C} elements, found ${array.length}`);
  }
}
