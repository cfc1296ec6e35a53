/**
 * The native 16-bit GEMM (gemm16.cc): out (M, N) fp32 (+)= op(A) · op(B) with A and B as bf16 or
 * fp16 bit patterns, fp32 accumulation (vdpbf16ps on AVX-512 BF16; F16C-widened panels into the
 * fp32 micro-kernel otherwise). Null when the addon is absent or was built without gemm16.cc, so
 * callers keep their widening fallback (src/nn/linear16.ts).
 *
 * Shapes follow the matmul contract: A is (M, K), or stored (K, M) with transA; B is (K, N), or
 * stored (N, K) with transB; out is (M, N) row-major.
 *
 * @example
 * const gemm = nativeGemm16();
 * gemm?.('bf16', x16, w16, out, { m: M, n: N, k: K, transB: true }); // out = x · Wᵀ
 */
import { createRequire } from 'node:module';
import { nativeAddonPath, nativeInfo } from './index.ts';

export type Format16 = 'bf16' | 'fp16';

export interface Gemm16Params {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** out += A·B instead of out = A·B. */
  accumulate?: boolean;
}

export type Gemm16 = (format: Format16, a: Uint16Array, b: Uint16Array, out: Float32Array, params: Gemm16Params) => void;

/** Which instructions each format runs on now (it follows the float kernels' ISA, selectNativeSimd). */
export interface Gemm16Info {
  bf16: 'avx512bf16' | 'widen';
  fp16: 'avx512' | 'f16c' | 'scalar';
}

interface Gemm16Addon {
  gemm16?(format: number, a: Uint16Array, b: Uint16Array, out: Float32Array, m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean): void;
  encode16?(format: number, src: Float32Array, dst: Uint16Array): void;
  gemm16Info?(): Gemm16Info;
}

let addon: Gemm16Addon | null | undefined;

function loadGemm16Addon(): Gemm16Addon | null {
  if (addon !== undefined) return addon;
  try {
    nativeInfo(); // loads the addon the way the backend does (QKV_SIMD applied), or throws
    const loaded = createRequire(import.meta.url)(nativeAddonPath()) as Gemm16Addon; // the same module instance
    addon = typeof loaded.gemm16 === 'function' ? loaded : null;
  } catch {
    addon = null;
  }
  return addon;
}

let gemm: Gemm16 | undefined;

/** The native 16-bit GEMM, or null where it is not built. */
export function nativeGemm16(): Gemm16 | null {
  const native = loadGemm16Addon();
  if (native === null) return null;
  gemm ??= (format, a, b, out, p) =>
    native.gemm16!(format === 'bf16' ? 0 : 1, a, b, out, p.m, p.n, p.k, p.transA ?? false, p.transB ?? false, p.accumulate ?? false);
  return gemm;
}

/**
 * dst = src rounded to `format` bit patterns (to nearest even; fp16 overflow → ±inf), bit for
 * bit what src/nn/linear16.ts's TypeScript encoders give; on the pool. Null without the addon.
 */
export function nativeEncode16(): ((format: Format16, src: Float32Array, dst: Uint16Array) => void) | null {
  const native = loadGemm16Addon();
  if (native?.encode16 === undefined) return null;
  return (format, src, dst) => native.encode16!(format === 'bf16' ? 0 : 1, src, dst);
}

/** Which path each format takes now; null without the native kernel. */
export function gemm16Info(): Gemm16Info | null {
  return loadGemm16Addon()?.gemm16Info?.() ?? null;
}
