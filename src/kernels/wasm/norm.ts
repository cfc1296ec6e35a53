/**
 * LayerNorm forward and backward on the wasm kernels (.../assembly/norm.ts), the contract of
 * layerNormForward / layerNormBackward in ../reference/norm.ts for float32 activations: the
 * operands are copied into the arena of the shared memory, computed on one thread, copied out.
 *
 * Legend: N = rows (B·T), C = channels. inp, out, dout, dinp are (N, C); mean and rstd (N) are
 * written by the forward and read by the backward (float64 or float32 arrays: the kernel keeps
 * them in float32); weight and bias (C) or null. dweight and dbias are float64 accumulators
 * (`+=`) as in the reference; the kernel sums over the rows in float32 and adds its totals.
 *
 * @example
 * const mean = new Float64Array(N), rstd = new Float64Array(N);
 * layerNormForwardWasm(out, mean, rstd, inp, weight, bias, N, C, 1e-5);
 * layerNormBackwardWasm(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
 */
import { Arena } from './runtime.ts';
import { loadKernels } from './loader.ts';

export type Statistics = Float32Array | Float64Array;

export function layerNormForwardWasm(
  out: Float32Array, mean: Statistics, rstd: Statistics,
  inp: Float32Array, weight: Float32Array | null, bias: Float32Array | null,
  N: number, C: number, eps: number,
): void {
  checkNormShape('layerNormForward', N, C, { out, inp }, { mean, rstd }, { weight, bias });
  if (N === 0 || C === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const size = N * C;
  const inpPtr = arena.floats(size), outPtr = arena.floats(size);
  const meanPtr = arena.floats(N), rstdPtr = arena.floats(N);
  const weightPtr = weight === null ? 0 : arena.floats(C);
  const biasPtr = bias === null ? 0 : arena.floats(C);
  const heap = arena.commit();
  heap.set(inp.subarray(0, size), inpPtr >>> 2);
  if (weight !== null) heap.set(weight.subarray(0, C), weightPtr >>> 2);
  if (bias !== null) heap.set(bias.subarray(0, C), biasPtr >>> 2);
  kernels.exports.layerNormForward(N, C, inpPtr, weightPtr, biasPtr, outPtr, meanPtr, rstdPtr, eps);
  out.set(heap.subarray(outPtr >>> 2, (outPtr >>> 2) + size));
  mean.set(heap.subarray(meanPtr >>> 2, (meanPtr >>> 2) + N));
  rstd.set(heap.subarray(rstdPtr >>> 2, (rstdPtr >>> 2) + N));
}

/** dinp = rstd·(dn − mean(dn) − n·mean(dn·n)) (written; skipped when null); dweight, dbias accumulated. */
export function layerNormBackwardWasm(
  dinp: Float32Array | null, dweight: Float64Array | null, dbias: Float64Array | null,
  dout: Float32Array, inp: Float32Array, weight: Float32Array | null,
  mean: Statistics, rstd: Statistics, N: number, C: number,
): void {
  checkNormShape('layerNormBackward', N, C, { dout, inp, ...(dinp === null ? {} : { dinp }) }, { mean, rstd }, { weight, dweight, dbias });
  if (N === 0 || C === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const size = N * C;
  const inpPtr = arena.floats(size), doutPtr = arena.floats(size);
  const meanPtr = arena.floats(N), rstdPtr = arena.floats(N);
  const weightPtr = weight === null ? 0 : arena.floats(C);
  // dinp overwrites dout in place: each row reads all of its dout before writing.
  const dinpPtr = dinp === null ? 0 : doutPtr;
  const dweightPtr = dweight === null ? 0 : arena.floats(C);
  const dbiasPtr = dbias === null ? 0 : arena.floats(C);
  const heap = arena.commit();
  heap.set(inp.subarray(0, size), inpPtr >>> 2);
  heap.set(dout.subarray(0, size), doutPtr >>> 2);
  heap.set(mean.subarray(0, N), meanPtr >>> 2);
  heap.set(rstd.subarray(0, N), rstdPtr >>> 2);
  if (weight !== null) heap.set(weight.subarray(0, C), weightPtr >>> 2);
  if (dweight !== null) heap.fill(0, dweightPtr >>> 2, (dweightPtr >>> 2) + C);
  if (dbias !== null) heap.fill(0, dbiasPtr >>> 2, (dbiasPtr >>> 2) + C);
  kernels.exports.layerNormBackward(N, C, doutPtr, inpPtr, weightPtr, meanPtr, rstdPtr, dinpPtr, dweightPtr, dbiasPtr);
  if (dinp !== null) dinp.set(heap.subarray(doutPtr >>> 2, (doutPtr >>> 2) + size));
  if (dweight !== null) for (let c = 0; c < C; c++) dweight[c] += heap[(dweightPtr >>> 2) + c];
  if (dbias !== null) for (let c = 0; c < C; c++) dbias[c] += heap[(dbiasPtr >>> 2) + c];
}

/** Checks N and C and that every array is long enough: activations N·C, statistics N, feature vectors C. Shared by the norm kernels. */
export function checkNormShape(
  kernel: string, N: number, C: number,
  activations: Record<string, Float32Array>, statistics: Record<string, Statistics>, features: Record<string, Float32Array | Float64Array | null>,
): void {
  for (const [name, value] of [['N', N], ['C', C]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${kernel} (wasm): ${name} must be a non-negative integer, got ${value}`);
  }
  const need = (name: string, array: { length: number } | null, length: number): void => {
    if (array !== null && array.length < length) throw new RangeError(`${kernel} (wasm): ${name} needs ${length} elements, found ${array.length}`);
  };
  for (const [name, array] of Object.entries(activations)) need(name, array, N * C);
  for (const [name, array] of Object.entries(statistics)) need(name, array, N);
  for (const [name, array] of Object.entries(features)) need(name, array, C);
}
