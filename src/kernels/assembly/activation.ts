// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// GPT-2's tanh GELU, forward beside backward, on 4 lanes at a time.
//   reference: `gelu(x, 'tanh')` in src/tensor/ops/elementwise.ts (its float64 path is the oracle)
//   y = 0.5·x·(1 + tanh u),  u = √(2/π)·(x + 0.044715·x³)
// written, as the reference does, through e = exp(2u) and s = 1/(e + 1): 1 + tanh u = 2·e·s, so
//   y = x·e·s,   dy/dx = e·s + 2·x·s·(e·s)·du/dx,   du/dx = √(2/π)·(1 + 3·0.044715·x²).
// e·s (= 1 − s) never cancels, so y keeps float32's relative accuracy for negative x too.
// x, y, g, dx are n float32 each; the backward recomputes e (one vector exp costs less than
// copying a saved e in and out of wasm memory), and computes its slope in float64 (see
// geluSlopeF64): the forward's float32 maths are within ~2 ulp, the slope's would not be.

import { expF64, expV } from './vmath';

// @ts-ignore: decorator
@inline const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
// @ts-ignore: decorator
@inline const CUBIC: f32 = 0.044715;
// 2u is clamped here: e ≤ e^40 ≈ 2.4e17 keeps s = 1/(e + 1) a normal float (e^88 would make it
// denormal and lose bits of e·s), and past it e·s already rounds to 1 and x·s·du to ~0.
// @ts-ignore: decorator
@inline const MAX_TWO_U: f32 = 40;
// The backward's float64 copies (an f32 constant would round √(2/π) before the float64 maths).
// @ts-ignore: decorator
@inline const SQRT_2_OVER_PI_F64: f64 = 0.7978845608028654;
// @ts-ignore: decorator
@inline const CUBIC_F64: f64 = 0.044715;
// @ts-ignore: decorator
@inline const MAX_TWO_U_F64: f64 = 40;

/** e = exp(2u) of x on 4 lanes (the lower clamp is expV's). */
// @ts-ignore: decorator
@inline function expTwoU(x: v128): v128 {
  const x2 = f32x4.mul(x, x);
  const twoU = f32x4.mul(x, f32x4.add(f32x4.splat(2 * SQRT_2_OVER_PI), f32x4.mul(f32x4.splat(2 * SQRT_2_OVER_PI * CUBIC), x2)));
  return expV(f32x4.pmin(twoU, f32x4.splat(MAX_TWO_U)));
}

/**
 * max(x, −20), NaN kept: below −20 gelu is ~0 (the float32 result is x·e^−87.3 ≈ −2e-37, not
 * −∞·0 = NaN at x = −∞, nor −∞ from ∞·tiny).
 */
// @ts-ignore: decorator
@inline function lowClamp(x: v128): v128 {
  return f32x4.pmax(x, f32x4.splat(-20));
}

// @ts-ignore: decorator
@inline function geluV(x: v128, e: v128): v128 {
  return f32x4.mul(x, f32x4.div(e, f32x4.add(e, f32x4.splat(1))));
}

/**
 * The slope on 2 float64 lanes, e from expF64: the float32 result is then within float32
 * rounding of the exact slope (≤ 1.2e-7 relative, what test/tensor/ops/elementwise.test.ts asks
 * of the float32 backward). In float32 the error of 2u alone, amplified by exp, reaches ~2e-7.
 */
// @ts-ignore: decorator
@inline function geluSlopeF64(x: v128): v128 {
  // Outside [−20, 10] the float32 slope is 0 (to ~1e-80) or exactly 1; clamping keeps x·s·du
  // from becoming ∞·0 at ±∞ and ∞ at huge x, where s no longer underflows (2u is clamped).
  x = f64x2.pmin(f64x2.pmax(x, f64x2.splat(-20)), f64x2.splat(10));
  const x2 = f64x2.mul(x, x);
  const twoU = f64x2.mul(x, f64x2.add(f64x2.splat(2 * SQRT_2_OVER_PI_F64), f64x2.mul(f64x2.splat(2 * SQRT_2_OVER_PI_F64 * CUBIC_F64), x2)));
  const e = expF64(f64x2.pmin(twoU, f64x2.splat(MAX_TWO_U_F64)));
  const s = f64x2.div(f64x2.splat(1), f64x2.add(e, f64x2.splat(1)));
  const keep = f64x2.mul(e, s); // 1 − s
  const du = f64x2.add(f64x2.splat(SQRT_2_OVER_PI_F64), f64x2.mul(f64x2.splat(SQRT_2_OVER_PI_F64 * 3 * CUBIC_F64), x2));
  return f64x2.add(keep, f64x2.mul(f64x2.mul(f64x2.mul(f64x2.add(x, x), s), keep), du));
}

/** g · gelu_tanh'(x) on 4 float32 lanes, the slope in float64 (also used by ./bias-gelu.ts). */
// @ts-ignore: decorator
@inline export function geluTanhGradV(x: v128, g: v128): v128 {
  const low = geluSlopeF64(f64x2.promote_low_f32x4(x));
  const high = geluSlopeF64(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1)));
  const slope = i32x4.shuffle(f32x4.demote_f64x2_zero(low), f32x4.demote_f64x2_zero(high), 0, 1, 4, 5);
  return f32x4.mul(g, slope);
}

/** gelu_tanh(x) on 4 float32 lanes (also used by ./bias-gelu.ts). */
// @ts-ignore: decorator
@inline export function geluTanhV(x: v128): v128 {
  const clamped = lowClamp(x);
  return geluV(clamped, expTwoU(clamped));
}

/** y = gelu_tanh(x); when `saved` is not 0, also saved = e = exp(2u), what the TypeScript backward reads. */
export function geluTanhForward(n: i32, x: usize, y: usize, saved: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const xv = lowClamp(v128.load(x + at));
    const e = expTwoU(xv);
    v128.store(y + at, geluV(xv, e));
    if (saved != 0) v128.store(saved + at, e);
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    const xv = lowClamp(f32x4.splat(load<f32>(x + at)));
    const e = expTwoU(xv);
    store<f32>(y + at, f32x4.extract_lane(geluV(xv, e), 0));
    if (saved != 0) store<f32>(saved + at, f32x4.extract_lane(e, 0));
  }
}

/** dx = g · d gelu_tanh(x)/dx (written, not accumulated). */
export function geluTanhBackward(n: i32, x: usize, g: usize, dx: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    v128.store(dx + at, geluTanhGradV(v128.load(x + at), v128.load(g + at)));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    store<f32>(dx + at, f32x4.extract_lane(geluTanhGradV(f32x4.splat(load<f32>(x + at)), f32x4.splat(load<f32>(g + at))), 0));
  }
}
