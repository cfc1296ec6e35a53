/**
 * RMSNorm forward and backward on the wasm kernels (.../assembly/rmsnorm.ts), the contract of
 * rmsNormForward / rmsNormBackward in ../reference/norm.ts for float32 activations: the operands
 * are copied into the arena of the shared memory, computed on one thread, copied out.
 *
 * Legend: N = rows (B·T), C = channels. inp, out, dout, dinp are (N, C); rrms (N) is written by
 * the forward and read by the backward (float64 or float32: the kernel keeps it in float32);
 * weight (C) or null. dweight is a float64 accumulator (`+=`) as in the reference; the kernel
 * sums over the rows in float32 and adds its totals.
 *
 * @example
 * const rrms = new Float64Array(N);
 * rmsNormForwardWasm(out, rrms, inp, weight, N, C, 1e-6);
 * rmsNormBackwardWasm(dinp, dweight, dout, inp, weight, rrms, N, C);
 */
import { checkNormShape, type Statistics } from './norm.ts';
import { Arena } from './runtime.ts';
import { loadKernels } from './loader.ts';


/** out = x·rrms·weight, rrms = 1/√(mean(x²) + eps). */
export function rmsNormForwardWasm(
  out: Float32Array, rrms: Statistics, inp: Float32Array, weight: Float32Array | null, N: number, C: number, eps: number,
): void {
  checkNormShape('rmsNormForward', N, C, { out, inp }, { rrms }, { weight });
  if (N === 0 || C === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const size = N * C;
  const inpPtr = arena.floats(size), outPtr = arena.floats(size), rrmsPtr = arena.floats(N);
  const weightPtr = weight === null ? 0 : arena.floats(C);
  const heap = arena.commit();
  heap.set(inp.subarray(0, size), inpPtr >>> 2);
  if (weight !== null) heap.set(weight.subarray(0, C), weightPtr >>> 2);
  kernels.exports.rmsNormForward(N, C, inpPtr, weightPtr, outPtr, rrmsPtr, eps);
  out.set(heap.subarray(outPtr >>> 2, (outPtr >>> 2) + size));
  rrms.set(heap.subarray(rrmsPtr >>> 2, (rrmsPtr >>> 2) + N));
}

/** dinp = rrms·(dn − n·mean(dn·n)) (written; skipped when null); dweight += Σ_rows dout·n. */
export function rmsNormBackwardWasm(
  dinp: Float32Array | null, dweight: Float64Array | null,
  dout: Float32Array, inp: Float32Array, weight: Float32Array | null, rrms: Statistics, N: number, C: number,
): void {
  checkNormShape('rmsNormBackward', N, C, { dout, inp, ...(dinp === null ? {} : { dinp }) }, { rrms }, { weight, dweight });
  if (N === 0 || C === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const size = N * C;
  const inpPtr = arena.floats(size), doutPtr = arena.floats(size), rrmsPtr = arena.floats(N);
  const weightPtr = weight === null ? 0 : arena.floats(C);
  // dinp overwrites dout in place: each row reads all of its dout before writing.
  const dinpPtr = dinp === null ? 0 : doutPtr;
  const dweightPtr = dweight === null ? 0 : arena.floats(C);
  const heap = arena.commit();
  heap.set(inp.subarray(0, size), inpPtr >>> 2);
  heap.set(dout.subarray(0, size), doutPtr >>> 2);
  heap.set(rrms.subarray(0, N), rrmsPtr >>> 2);
  if (weight !== null) heap.set(weight.subarray(0, C), weightPtr >>> 2);
  if (dweight !== null) heap.fill(0, dweightPtr >>> 2, (dweightPtr >>> 2) + C);
  kernels.exports.rmsNormBackward(N, C, doutPtr, inpPtr, weightPtr, rrmsPtr, dinpPtr, dweightPtr);
  if (dinp !== null) dinp.set(heap.subarray(doutPtr >>> 2, (doutPtr >>> 2) + size));
  if (dweight !== null) for (let c = 0; c < C; c++) dweight[c] += heap[(dweightPtr >>> 2) + c];
}
