// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// One Adam / AdamW step over a parameter's four arrays in one pass, 4 lanes at a time.
//   reference: adamUpdate in src/optim/adam.ts (torch.optim.Adam / AdamW)
//   g = grad + l2Penalty·p;  m = β₁·m + (1 − β₁)·g;  v = β₂·v + (1 − β₂)·g²
//   p = keep·p − stepSize·m / (√v / √(1 − β₂ᵗ) + ε)
// param, grad, expAvg, expAvgSq are n float32 each; param, expAvg, expAvgSq are updated in place.
// 1 − β comes from the caller, taken in float64: 1 − float32(0.999) would be off by 5e-5.
// Plain multiplies and adds, never the relaxed fused multiply-add: the SIMD and relaxed builds
// then give the same bits, so a run resumed on another machine continues bit for bit.

export function adamUpdate(
  n: i32, param: usize, grad: usize, expAvg: usize, expAvgSq: usize,
  beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32,
  l2Penalty: f32, keep: f32, stepSize: f32, biasCorrection2Sqrt: f32, eps: f32,
): void {
  const b1 = f32x4.splat(beta1), b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(oneMinusBeta1), c2 = f32x4.splat(oneMinusBeta2);
  const l2 = f32x4.splat(l2Penalty), keepV = f32x4.splat(keep), stepV = f32x4.splat(stepSize);
  const bc2 = f32x4.splat(biasCorrection2Sqrt), epsV = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = <usize>i << 2;
    const p = v128.load(param + at);
    const g = f32x4.add(v128.load(grad + at), f32x4.mul(l2, p));
    const m = f32x4.add(f32x4.mul(b1, v128.load(expAvg + at)), f32x4.mul(c1, g));
    const v = f32x4.add(f32x4.mul(b2, v128.load(expAvgSq + at)), f32x4.mul(f32x4.mul(c2, g), g));
    v128.store(expAvg + at, m);
    v128.store(expAvgSq + at, v);
    const denominator = f32x4.add(f32x4.div(f32x4.sqrt(v), bc2), epsV);
    v128.store(param + at, f32x4.sub(f32x4.mul(keepV, p), f32x4.div(f32x4.mul(stepV, m), denominator)));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    const p = load<f32>(param + at);
    const g = load<f32>(grad + at) + l2Penalty * p;
    const m = beta1 * load<f32>(expAvg + at) + oneMinusBeta1 * g;
    const v = beta2 * load<f32>(expAvgSq + at) + oneMinusBeta2 * g * g;
    store<f32>(expAvg + at, m);
    store<f32>(expAvgSq + at, v);
    store<f32>(param + at, keep * p - (stepSize * m) / (Mathf.sqrt(v) / biasCorrection2Sqrt + eps));
  }
}
