// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// Vector maths the fused kernels share. `vexp` is exported (y = exp(x) over an array) so the
// tests can hold expV against Math.exp over its whole range.

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  // a·b + c: one fused multiply-add in the relaxed build, a multiply and an add in the plain one.
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * exp on 4 lanes, Cephes expf: x = n·ln2 + r with |r| ≤ ln2/2, exp(r) by a degree-6 polynomial,
 * times 2^n built in the exponent bits. Relative error ~1e-7 over the clamped range [−87.3, 88.3]
 * (below: exp(−87.3) ≈ 1.2e-38, the smallest normal float, instead of a denormal or 0; above:
 * exp(88.3) ≈ 2.1e38 instead of +∞). NaN stays NaN.
 *
 * Written for V8's x64 lowering: pmin/pmax are one minps/maxps each (min/max, with their NaN and
 * −0 rules, are ~6 instructions), and n = round(x·log₂e) comes from adding 1.5·2²³, whose low
 * mantissa bits then hold n, instead of nearest + trunc_sat (a long saturating sequence). This
 * took the kernel from 1.8 to ~0.5 ns per element here.
 */
// @ts-ignore: decorator
@inline export function expV(x: v128): v128 {
  // pmax(x, lo) = x < lo ? lo : x, so a NaN x stays NaN.
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.3)), f32x4.splat(88.3));
  const shifter = f32x4.splat(12582912); // 1.5·2²³: adding it rounds to an integer, kept in the low bits
  const t = madd(x, f32x4.splat(1.44269504088896341), shifter);
  const n = f32x4.sub(t, shifter);
  let r = madd(n, f32x4.splat(-0.693359375), x);
  r = madd(n, f32x4.splat(2.12194440e-4), r);
  let y = f32x4.splat(1.9875691500e-4);
  y = madd(y, r, f32x4.splat(1.3981999507e-3));
  y = madd(y, r, f32x4.splat(8.3334519073e-3));
  y = madd(y, r, f32x4.splat(4.1665795894e-2));
  y = madd(y, r, f32x4.splat(1.6666665459e-1));
  y = madd(y, r, f32x4.splat(5.0000001201e-1));
  y = f32x4.add(madd(f32x4.mul(y, r), r, r), f32x4.splat(1));
  // t's low mantissa bits are 2²² + n; shifted into the exponent field with the bias, the
  // higher bits fall off the top: the float 2^n for n + 127 in [1, 254].
  const pow2n = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}

// @ts-ignore: decorator
@inline export function maddF64(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(f64x2.mul(a, b), c);
}

/**
 * exp on 2 float64 lanes to ~1e-10 relative, for kernels whose float32 result must be the
 * correctly rounded value (within float32 rounding, where expV's ~1e-7 is already an ulp): the
 * same range reduction as expV in float64 (ln 2 split in two, fdlibm's), then exp(r) for
 * |r| ≤ ln2/2 by its Taylor series to r⁹ (truncation ≤ 0.35¹⁰/10! ≈ 7e-12). x is clamped to
 * [−700, 700]; NaN stays NaN.
 */
// @ts-ignore: decorator
@inline export function expF64(x: v128): v128 {
  x = f64x2.pmin(f64x2.pmax(x, f64x2.splat(-700)), f64x2.splat(700));
  const shifter = f64x2.splat(6755399441055744); // 1.5·2⁵²
  const t = maddF64(x, f64x2.splat(1.4426950408889634), shifter);
  const n = f64x2.sub(t, shifter);
  let r = maddF64(n, f64x2.splat(-6.93147180369123816490e-01), x);
  r = maddF64(n, f64x2.splat(-1.90821492927058770002e-10), r);
  let y = f64x2.splat(1.0 / 362880);
  y = maddF64(y, r, f64x2.splat(1.0 / 40320));
  y = maddF64(y, r, f64x2.splat(1.0 / 5040));
  y = maddF64(y, r, f64x2.splat(1.0 / 720));
  y = maddF64(y, r, f64x2.splat(1.0 / 120));
  y = maddF64(y, r, f64x2.splat(1.0 / 24));
  y = maddF64(y, r, f64x2.splat(1.0 / 6));
  y = maddF64(y, r, f64x2.splat(0.5));
  y = maddF64(y, r, f64x2.splat(1));
  y = maddF64(y, r, f64x2.splat(1));
  // As in expV: t's low mantissa bits hold 2⁵¹ + n; with the bias shifted into the exponent field.
  const pow2n = i64x2.shl(i64x2.add(t, i64x2.splat(1023)), 52);
  return f64x2.mul(y, pow2n);
}

/** y[i] = exp(x[i]) for i < n, with expV (the tail through a splat, so every lane agrees). */
export function vexp(n: i32, x: usize, y: usize): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), expV(v128.load(x + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), f32x4.extract_lane(expV(f32x4.splat(load<f32>(x + (<usize>i << 2)))), 0));
}
