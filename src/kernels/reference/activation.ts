/**
 * GPT-2's tanh GELU and the fused bias + tanh GELU, forward beside backward: the references the
 * wasm (src/kernels/assembly/activation.ts, bias-gelu.ts) and native (src/kernels/native/
 * kernels.inc) kernels are tested against. Any storage (float32 or float64), any mix.
 *
 * reference: gelu_new in Hugging Face transformers, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
 * written through e = exp(2u), s = 1/(e + 1): 0.5·x·(1 + tanh u) = x·(1 − s), the same function
 * to ~1e-16, one exp instead of a tanh (Math.exp costs about two thirds of Math.tanh in V8).
 *
 * Legend: N = rows (B·T), C = channels (the MLP's 4·n_embd); x, y, g, dx are (N, C) or n values,
 * bias (C); dbias a float64 accumulator (`+=`).
 */
import type { Storage } from '../types.ts';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** e = exp(2u) of x; e = ∞ (large x) gives s = 0 and x itself, +∞ included. */
export function geluTanhExp(v: number): number {
  return Math.exp(2 * SQRT_2_OVER_PI * (v + 0.044715 * v * v * v));
}

/**
 * d/dx of gelu_tanh from x and e: 0.5·(1 + t) + 0.5·x·(1 − t²)·du/dx with t = tanh u; in terms
 * of s, 1 + t = 2(1 − s) and 1 − t² = 4s(1 − s). 1 − s = e·s is taken that way while s > 1/2,
 * where 1 − s would cancel: so both keep the relative accuracy of e.
 */
export function geluTanhSlope(v: number, e: number): number {
  const s = 1 / (e + 1);
  const keep = e < 1 ? e * s : 1 - s; // 1 − s
  const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
  return keep + 2 * v * s * keep * du;
}

/** y = gelu_tanh(x) over the first n values. */
export function geluTanhForward(y: Storage, x: Storage, n: number): void {
  for (let i = 0; i < n; i++) y[i] = x[i] * (1 - 1 / (geluTanhExp(x[i]) + 1));
}

/** dx = g·gelu_tanh'(x) over the first n values (written). */
export function geluTanhBackward(dx: Storage, g: Storage, x: Storage, n: number): void {
  for (let i = 0; i < n; i++) dx[i] = g[i] * geluTanhSlope(x[i], geluTanhExp(x[i]));
}

/**
 * y = gelu_tanh(x + bias) over N rows of C. x + bias is first stored in y, so it is rounded to
 * y's precision exactly as `add` would store it before `gelu` reads it.
 */
export function biasGeluForward(y: Storage, x: Storage, bias: Storage, N: number, C: number): void {
  for (let row = 0; row < N; row++) {
    const base = row * C;
    for (let c = 0; c < C; c++) y[base + c] = x[base + c] + bias[c];
    for (let i = base; i < base + C; i++) {
      const h = y[i];
      y[i] = h * (1 - 1 / (geluTanhExp(h) + 1));
    }
  }
}

/**
 * dx = g·gelu_tanh'(x + bias) (written; skipped when null), dbias += Σ_rows dx (skipped when
 * null). x + bias is rounded to g's precision first, as in the forward.
 */
export function biasGeluBackward(dx: Storage | null, dbias: Float64Array | null, g: Storage, x: Storage, bias: Storage, N: number, C: number): void {
  const h = g instanceof Float64Array ? new Float64Array(C) : new Float32Array(C);
  for (let row = 0; row < N; row++) {
    const base = row * C;
    for (let c = 0; c < C; c++) h[c] = x[base + c] + bias[c];
    for (let c = 0; c < C; c++) {
      let d = g[base + c] * geluTanhSlope(h[c], geluTanhExp(h[c]));
      if (dx !== null) {
        dx[base + c] = d;
        d = dx[base + c]; // the stored (rounded) value, as the sum of the stored dx would see it
      }
      if (dbias !== null) dbias[c] += d;
    }
  }
}
