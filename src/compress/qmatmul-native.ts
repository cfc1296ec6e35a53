/**
 * The native quantised matmul (src/kernels/native/quant.cc) behind a small typed face: the
 * addon's `qmatmul(format, out, x, w, M, N, K)` on the tensors' own storage (zero copy), with
 * the activation rows quantised to 8 bits per block of 32 inside (ggml's Q8_0 rule, a float32
 * scale) and int8·int8 dots on the packed weight blocks: AVX-512 VNNI, AVX-VNNI (256-bit), AVX2 or
 * portable scalar.
 *
 * It is used only when float32 work runs on the native backend (src/kernels/index.ts), so
 * `QKV_KERNELS=wasm|reference` keeps quantised layers on the TypeScript path too, and an addon
 * built before quant.cc had kernels (no `qmatmul` export) falls back rather than failing.
 *
 * Legend: M = input rows (B·T), K = in_features (the quantised axis), N = out_features.
 *
 * @example
 * const native = nativeQmatmul();            // null unless the native backend runs
 * native?.(out, x, M, weight);               // out (M, N) = x (M, K) · Wᵀ
 */
import { createRequire } from 'node:module';
import { currentBackend } from '../kernels/index.ts';
import { nativeAddonPath } from '../kernels/native/index.ts';
import type { QuantFormat, QuantizedMatrix } from './formats.ts';

/** The quantised entries of the addon (quant.cc); argument order as there. */
interface QuantAddon {
  qmatmul(format: number, out: Float32Array, x: Float32Array, w: Uint8Array, M: number, N: number, K: number): void;
  quantInfo(): { path: QuantKernelPath; supported?: QuantKernelPath[] };
  /** Addons built before AVX-VNNI lack it. */
  quantSelectPath?(path: QuantKernelPath | 'auto'): boolean;
}

/**
 * Which dot product the native kernel runs: it follows the float kernels' ISA (selectNativeSimd):
 * 'avx512' → AVX-512 VNNI where the CPU has it, else the 256-bit AVX-VNNI where it has that, else
 * AVX2; 'portable' → scalar. `selectNativeQuantPath` forces one.
 */
export type QuantKernelPath = 'avx512vnni' | 'avxvnni' | 'avx2' | 'portable';

/** Every path, widest first. */
export const QUANT_KERNEL_PATHS: readonly QuantKernelPath[] = ['avx512vnni', 'avxvnni', 'avx2', 'portable'];

/** The kernels' format codes (native and wasm alike). */
export const FORMAT_CODES: Record<QuantFormat, number> = { q8_0: 0, q4_0: 1, q4_g128: 2 };

export type NativeQmatmul = (out: Float32Array, x: Float32Array, M: number, weight: QuantizedMatrix) => void;

let addon: QuantAddon | null | undefined;

/** The addon's quantised entries, or null when it is not loaded or predates them. */
function quantAddon(): QuantAddon | null {
  if (addon !== undefined) return addon;
  // the same path the backend loaded: require's cache hands back that very module
  const loaded = createRequire(import.meta.url)(nativeAddonPath()) as Partial<QuantAddon>;
  addon = typeof loaded.qmatmul === 'function' && typeof loaded.quantInfo === 'function' ? (loaded as QuantAddon) : null;
  return addon;
}

const run: NativeQmatmul = (out, x, M, weight) =>
  quantAddon()!.qmatmul(FORMAT_CODES[weight.format], out, x, weight.data, M, weight.rows, weight.cols);

/** The native kernel when float32 work runs on the native backend and the addon has it; else null. */
export function nativeQmatmul(): NativeQmatmul | null {
  if (currentBackend().name !== 'native') return null;
  return quantAddon() === null ? null : run;
}

/** The dot-product path the native kernel takes now (for tests and benchmarks); null without it. */
export function nativeQuantPath(): QuantKernelPath | null {
  return nativeQmatmul() === null ? null : quantAddon()!.quantInfo().path;
}

/**
 * Forces the native dot-product path (tests, benchmarks: AVX2 on a CPU with AVX-VNNI, which the
 * ISA order never picks), or 'auto' to follow the ISA again. False when this CPU or addon cannot.
 *
 * @example if (selectNativeQuantPath('avx2')) { ...; selectNativeQuantPath('auto'); }
 */
export function selectNativeQuantPath(path: QuantKernelPath | 'auto'): boolean {
  const quant = nativeQmatmul() === null ? null : quantAddon();
  if (quant === null || typeof quant.quantSelectPath !== 'function') return path === 'auto';
  return quant.quantSelectPath(path);
}
