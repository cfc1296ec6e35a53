/**
 * Shared by the kernel tests: reproducible random inputs from a tiny LCG, independent of the
 * library's Rng so a bug there cannot hide in both sides of a comparison.
 */
import type { KernelBackend } from '../../src/kernels/backend.ts';
import { kernelBackend, type KernelBackendName } from '../../src/kernels/index.ts';
import { nativeInfo, type NativeSimd } from '../../src/kernels/native/index.ts';
import type { Storage } from '../../src/kernels/types.ts';

/** The backends to check: each native ISA this CPU runs, then wasm (unless QKV_KERNELS names one). */
export function backendVariants(): { label: string; name: KernelBackendName; simd?: NativeSimd }[] {
  const only = process.env.QKV_KERNELS;
  const out: { label: string; name: KernelBackendName; simd?: NativeSimd }[] = [];
  if (only === undefined || only === '' || only === 'native') {
    try {
      kernelBackend('native');
      const order: NativeSimd[] = ['avx512', 'avx2', 'portable'];
      for (const simd of order.slice(order.indexOf(nativeInfo().simd))) out.push({ label: `native ${simd}`, name: 'native', simd });
    } catch (error) {
      if (only === 'native') throw error;
    }
  }
  if (only === undefined || only === '' || only === 'wasm') out.push({ label: 'wasm', name: 'wasm' });
  return out;
}

/** The native backend, or undefined where the addon is not built (its tests then skip). */
export function nativeBackendOrUndefined(): KernelBackend<Storage> | undefined {
  try {
    return kernelBackend('native');
  } catch {
    return undefined;
  }
}

/** `length` values uniform in [-scale, scale), the same for the same seed. */
export function randomArray(length: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = scale * (state / 2 ** 31 - 1);
  }
  return out;
}
