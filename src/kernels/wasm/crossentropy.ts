/**
 * Cross-entropy (log-softmax + NLL fused) forward and backward on the wasm kernels
 * (.../assembly/crossentropy.ts), the contract of crossEntropyForward / crossEntropyBackward in
 * ../reference/crossentropy.ts for float32 logits: operands copied into the arena of the shared
 * memory, computed on one thread, copied out.
 *
 * Legend: N = rows (B·T), C = classes (V). logits and dlogits (N, C) float32; targets (N) int32;
 * losses (N) float32; logNormalizers (N), the log-sum-exp per row, float64 as in the reference
 * (the kernel keeps it in float32); rowScales (N) the incoming dLoss/dloss_r.
 *
 * @example
 * crossEntropyForwardWasm(losses, lse, logits, targets, N, V, -100, 0);
 * crossEntropyBackwardWasm(dlogits, logits, lse, targets, new Float64Array(N).fill(1 / N), N, V, -100, 0);
 */
import { Arena } from './runtime.ts';
import { loadKernels } from './loader.ts';

export function crossEntropyForwardWasm(
  losses: Float32Array, logNormalizers: Float64Array, logits: Float32Array, targets: Int32Array,
  N: number, C: number, ignoreIndex: number, smoothing: number,
): void {
  checkShape('crossEntropyForward', N, C, logits, targets, ignoreIndex, { losses, logNormalizers });
  if (N === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const logitsPtr = arena.floats(N * C), targetsPtr = arena.floats(N), lossesPtr = arena.floats(N), lsePtr = arena.floats(N);
  const heap = arena.commit();
  heap.set(logits.subarray(0, N * C), logitsPtr >>> 2);
  new Int32Array(heap.buffer, targetsPtr, N).set(targets.subarray(0, N));
  kernels.exports.crossEntropyForward(N, C, logitsPtr, targetsPtr, lossesPtr, lsePtr, ignoreIndex, smoothing);
  losses.set(heap.subarray(lossesPtr >>> 2, (lossesPtr >>> 2) + N));
  logNormalizers.set(heap.subarray(lsePtr >>> 2, (lsePtr >>> 2) + N));
}

/** dlogits = rowScales[r]·(softmax(x[r]) − (1 − ε)·onehot(t_r) − ε/C), written. */
export function crossEntropyBackwardWasm(
  dlogits: Float32Array, logits: Float32Array, logNormalizers: Float64Array, targets: Int32Array,
  rowScales: ArrayLike<number>, N: number, C: number, ignoreIndex: number, smoothing: number,
): void {
  checkShape('crossEntropyBackward', N, C, logits, targets, ignoreIndex, { dlogits, logNormalizers, rowScales });
  if (N === 0 || C === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const logitsPtr = arena.floats(N * C), lsePtr = arena.floats(N), targetsPtr = arena.floats(N), scalesPtr = arena.floats(N);
  const heap = arena.commit();
  heap.set(logits.subarray(0, N * C), logitsPtr >>> 2);
  heap.set(logNormalizers.subarray(0, N), lsePtr >>> 2);
  new Int32Array(heap.buffer, targetsPtr, N).set(targets.subarray(0, N));
  for (let row = 0; row < N; row++) heap[(scalesPtr >>> 2) + row] = rowScales[row];
  // dlogits overwrites the logits in place: each element is read once, just before it is written.
  kernels.exports.crossEntropyBackward(N, C, logitsPtr, lsePtr, targetsPtr, scalesPtr, logitsPtr, ignoreIndex, smoothing);
  dlogits.set(heap.subarray(logitsPtr >>> 2, (logitsPtr >>> 2) + N * C));
}

function checkShape(kernel: string, N: number, C: number, logits: Float32Array, targets: Int32Array, ignoreIndex: number, perRow: Record<string, ArrayLike<number>>): void {
  for (const [name, value] of [['N', N], ['C', C]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${kernel} (wasm): ${name} must be a non-negative integer, got ${value}`);
  }
  if (logits.length < N * C) throw new RangeError(`${kernel} (wasm): logits need N·C = ${N * C} elements, found ${logits.length}`);
  if (targets.length < N) throw new RangeError(`${kernel} (wasm): targets need N = ${N} elements, found ${targets.length}`);
  // The kernel indexes the row by its target: one out of range would read another row's logit.
  for (let row = 0; row < N; row++) {
    const target = targets[row];
    if (target !== ignoreIndex && !(target >= 0 && target < C)) throw new RangeError(`${kernel} (wasm): target ${target} at row ${row} is out of range for ${C} classes`);
  }
  for (const [name, array] of Object.entries(perRow)) {
    const need = name === 'dlogits' ? N * C : N;
    if (array.length < need) throw new RangeError(`${kernel} (wasm): ${name} needs ${need} elements, found ${array.length}`);
  }
}
