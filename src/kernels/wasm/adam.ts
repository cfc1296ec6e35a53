/**
 * One Adam / AdamW step over a float32 parameter's four arrays on the wasm kernel
 * (.../assembly/adam.ts): param, grad, expAvg, expAvgSq are copied into the arena of the shared
 * memory, updated in one pass, and param, expAvg, expAvgSq copied back.
 *
 * The step's scalars come precomputed (in float64, then rounded once to float32), so the update
 * is the same few float32 operations everywhere and a resumed run continues bit for bit.
 *
 * @example
 * adamUpdateWasm(param, grad, expAvg, expAvgSq, { beta1: 0.9, beta2: 0.999, l2Penalty: 0,
 *   keep: 1 - lr * weightDecay, stepSize: lr / (1 - 0.9 ** step), biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** step), eps: 1e-8 });
 */
import { Arena } from './runtime.ts';
import { loadKernels } from './loader.ts';
import type { AdamStepScalars } from '../types.ts';

export type { AdamStepScalars };

export function adamUpdateWasm(param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, s: AdamStepScalars): void {
  const n = param.length;
  for (const [name, array] of [['grad', grad], ['expAvg', expAvg], ['expAvgSq', expAvgSq]] as const) {
    if (array.length !== n) throw new RangeError(`adamUpdate (wasm): ${name} has ${array.length} elements, param has ${n}`);
  }
  if (n === 0) return;
  const kernels = loadKernels();
  const arena = new Arena(kernels);
  const paramPtr = arena.floats(n), gradPtr = arena.floats(n), mPtr = arena.floats(n), vPtr = arena.floats(n);
  const heap = arena.commit();
  heap.set(param, paramPtr >>> 2);
  heap.set(grad, gradPtr >>> 2);
  heap.set(expAvg, mPtr >>> 2);
  heap.set(expAvgSq, vPtr >>> 2);
  kernels.exports.adamUpdate(n, paramPtr, gradPtr, mPtr, vPtr, s.beta1, s.beta2, 1 - s.beta1, 1 - s.beta2, s.l2Penalty, s.keep, s.stepSize, s.biasCorrection2Sqrt, s.eps);
  param.set(heap.subarray(paramPtr >>> 2, (paramPtr >>> 2) + n));
  expAvg.set(heap.subarray(mPtr >>> 2, (mPtr >>> 2) + n));
  expAvgSq.set(heap.subarray(vPtr >>> 2, (vPtr >>> 2) + n));
}
