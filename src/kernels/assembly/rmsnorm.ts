// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// RMSNorm over the last axis, forward beside backward, channels 4 lanes at a time.
//   reference: rmsNormForward / rmsNormBackward in src/kernels/reference/norm.ts (Llama's
//   RMSNorm: eps inside the square root, no mean, no bias)
// Legend: N = rows (B·T), C = channels. inp, out, dout, dinp are (N, C) float32; rrms is (N),
// written by the forward for the backward; weight and dweight are (C), and a pointer of 0 means
// "none" (a gain of 1, a gradient not wanted).

/** Σ of the four lanes, pairwise (the same order everywhere, so forward and backward agree). */
// @ts-ignore: decorator
@inline function lanesSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** out = x·rrms·weight, rrms = 1/√(mean(x²) + eps). */
export function rmsNormForward(N: i32, C: i32, inp: usize, weight: usize, out: usize, rrms: usize, eps: f32): void {
  const rowBytes = <usize>C << 2;
  for (let row = 0; row < N; row++) {
    const x = inp + <usize>row * rowBytes;
    const y = out + <usize>row * rowBytes;
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const xv = v128.load(x + (<usize>c << 2));
      acc = f32x4.add(acc, f32x4.mul(xv, xv));
    }
    let squares = lanesSum(acc);
    for (; c < C; c++) {
      const xs = load<f32>(x + (<usize>c << 2));
      squares += xs * xs;
    }
    const r: f32 = 1 / Mathf.sqrt(squares / <f32>C + eps);
    const rV = f32x4.splat(r);
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      let v = f32x4.mul(v128.load(x + at), rV);
      if (weight != 0) v = f32x4.mul(v, v128.load(weight + at));
      v128.store(y + at, v);
    }
    for (; c < C; c++) {
      const at = <usize>c << 2;
      let v = load<f32>(x + at) * r;
      if (weight != 0) v *= load<f32>(weight + at);
      store<f32>(y + at, v);
    }
    store<f32>(rrms + (<usize>row << 2), r);
  }
}

/**
 * With n = x·rrms and dn = dout·weight:
 *   dinp = rrms · (dn − n · mean(dn·n))      (written; may alias dout: a row reads all its dout first)
 *   dweight += Σ_rows dout·n                  (accumulated: the caller zeroes it)
 */
export function rmsNormBackward(N: i32, C: i32, dout: usize, inp: usize, weight: usize, rrms: usize, dinp: usize, dweight: usize): void {
  const rowBytes = <usize>C << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < N; row++) {
    const x = inp + <usize>row * rowBytes;
    const g = dout + <usize>row * rowBytes;
    const r = load<f32>(rrms + (<usize>row << 2));
    const rV = f32x4.splat(r);
    let dnNormSumV = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      const gv = v128.load(g + at);
      const normalized = f32x4.mul(v128.load(x + at), rV);
      const dn = f32x4.mul(gv, weight != 0 ? v128.load(weight + at) : one);
      dnNormSumV = f32x4.add(dnNormSumV, f32x4.mul(dn, normalized));
      if (dweight != 0) v128.store(dweight + at, f32x4.add(v128.load(dweight + at), f32x4.mul(gv, normalized)));
    }
    let dnNormSum = lanesSum(dnNormSumV);
    for (; c < C; c++) {
      const at = <usize>c << 2;
      const gs = load<f32>(g + at);
      const normalized = load<f32>(x + at) * r;
      dnNormSum += gs * (weight != 0 ? load<f32>(weight + at) : 1) * normalized;
      if (dweight != 0) store<f32>(dweight + at, load<f32>(dweight + at) + gs * normalized);
    }
    if (dinp == 0) continue;
    const dnNormMeanV = f32x4.splat(dnNormSum / <f32>C);
    const dnNormMean = dnNormSum / <f32>C;
    const dx = dinp + <usize>row * rowBytes;
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      const normalized = f32x4.mul(v128.load(x + at), rV);
      const dn = f32x4.mul(v128.load(g + at), weight != 0 ? v128.load(weight + at) : one);
      v128.store(dx + at, f32x4.mul(f32x4.sub(dn, f32x4.mul(normalized, dnNormMeanV)), rV));
    }
    for (; c < C; c++) {
      const at = <usize>c << 2;
      const normalized = load<f32>(x + at) * r;
      const dn = load<f32>(g + at) * (weight != 0 ? load<f32>(weight + at) : 1);
      store<f32>(dx + at, (dn - normalized * dnNormMean) * r);
    }
  }
}
