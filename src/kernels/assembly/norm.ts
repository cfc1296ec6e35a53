// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// LayerNorm over the last axis, forward beside backward, channels 4 lanes at a time.
//   reference: layerNormForward / layerNormBackward in src/kernels/reference/norm.ts (torch's
//   LayerNorm: biased variance, eps inside the square root; llm.c's backward formulas)
// Legend: N = rows (B·T), C = channels. inp, out, dout, dinp are (N, C) float32; mean and rstd
// are (N), written by the forward for the backward; weight, bias, dweight, dbias are (C), and a
// pointer of 0 means "none" (a gain of 1, a shift of 0, a gradient not wanted).

/** Σ of c in [0, C) of row[c], 4 partial sums then the tail. */
// @ts-ignore: decorator
@inline function rowSum(row: usize, C: i32): f32 {
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= C; c += 4) acc = f32x4.add(acc, v128.load(row + (<usize>c << 2)));
  let sum = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; c < C; c++) sum += load<f32>(row + (<usize>c << 2));
  return sum;
}

/** out = (x − mean)·rstd·weight + bias, rstd = 1/√(var + eps); two passes for the variance, as the reference. */
export function layerNormForward(N: i32, C: i32, inp: usize, weight: usize, bias: usize, out: usize, mean: usize, rstd: usize, eps: f32): void {
  const rowBytes = <usize>C << 2;
  for (let row = 0; row < N; row++) {
    const x = inp + <usize>row * rowBytes;
    const y = out + <usize>row * rowBytes;
    const m = rowSum(x, C) / <f32>C;
    const mV = f32x4.splat(m);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const centred = f32x4.sub(v128.load(x + (<usize>c << 2)), mV);
      acc = f32x4.add(acc, f32x4.mul(centred, centred));
    }
    let squares = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; c < C; c++) {
      const centred = load<f32>(x + (<usize>c << 2)) - m;
      squares += centred * centred;
    }
    const s: f32 = 1 / Mathf.sqrt(squares / <f32>C + eps);
    const sV = f32x4.splat(s);
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      let v = f32x4.mul(f32x4.sub(v128.load(x + at), mV), sV);
      if (weight != 0) v = f32x4.mul(v, v128.load(weight + at));
      if (bias != 0) v = f32x4.add(v, v128.load(bias + at));
      v128.store(y + at, v);
    }
    for (; c < C; c++) {
      const at = <usize>c << 2;
      let v = (load<f32>(x + at) - m) * s;
      if (weight != 0) v *= load<f32>(weight + at);
      if (bias != 0) v += load<f32>(bias + at);
      store<f32>(y + at, v);
    }
    store<f32>(mean + (<usize>row << 2), m);
    store<f32>(rstd + (<usize>row << 2), s);
  }
}

/**
 * With n = (x − mean)·rstd and dn = dout·weight:
 *   dinp = rstd · (dn − mean(dn) − n · mean(dn·n))      (written)
 *   dweight += Σ_rows dout·n,  dbias += Σ_rows dout      (accumulated: the caller zeroes them)
 */
export function layerNormBackward(
  N: i32, C: i32, dout: usize, inp: usize, weight: usize, mean: usize, rstd: usize,
  dinp: usize, dweight: usize, dbias: usize,
): void {
  const rowBytes = <usize>C << 2;
  const one = f32x4.splat(1);
  for (let row = 0; row < N; row++) {
    const x = inp + <usize>row * rowBytes;
    const g = dout + <usize>row * rowBytes;
    const m = load<f32>(mean + (<usize>row << 2));
    const s = load<f32>(rstd + (<usize>row << 2));
    const mV = f32x4.splat(m);
    const sV = f32x4.splat(s);
    let dnSumV = f32x4.splat(0);
    let dnNormSumV = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      const gv = v128.load(g + at);
      const normalized = f32x4.mul(f32x4.sub(v128.load(x + at), mV), sV);
      const dn = f32x4.mul(gv, weight != 0 ? v128.load(weight + at) : one);
      dnSumV = f32x4.add(dnSumV, dn);
      dnNormSumV = f32x4.add(dnNormSumV, f32x4.mul(dn, normalized));
      if (dweight != 0) v128.store(dweight + at, f32x4.add(v128.load(dweight + at), f32x4.mul(gv, normalized)));
      if (dbias != 0) v128.store(dbias + at, f32x4.add(v128.load(dbias + at), gv));
    }
    let dnSum = (f32x4.extract_lane(dnSumV, 0) + f32x4.extract_lane(dnSumV, 1)) + (f32x4.extract_lane(dnSumV, 2) + f32x4.extract_lane(dnSumV, 3));
    let dnNormSum = (f32x4.extract_lane(dnNormSumV, 0) + f32x4.extract_lane(dnNormSumV, 1)) + (f32x4.extract_lane(dnNormSumV, 2) + f32x4.extract_lane(dnNormSumV, 3));
    for (; c < C; c++) {
      const at = <usize>c << 2;
      const gs = load<f32>(g + at);
      const normalized = (load<f32>(x + at) - m) * s;
      const dn = gs * (weight != 0 ? load<f32>(weight + at) : 1);
      dnSum += dn;
      dnNormSum += dn * normalized;
      if (dweight != 0) store<f32>(dweight + at, load<f32>(dweight + at) + gs * normalized);
      if (dbias != 0) store<f32>(dbias + at, load<f32>(dbias + at) + gs);
    }
    if (dinp == 0) continue;
    const dnMean = dnSum / <f32>C;
    const dnNormMean = dnNormSum / <f32>C;
    const dnMeanV = f32x4.splat(dnMean);
    const dnNormMeanV = f32x4.splat(dnNormMean);
    const dx = dinp + <usize>row * rowBytes;
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      const normalized = f32x4.mul(f32x4.sub(v128.load(x + at), mV), sV);
      const dn = f32x4.mul(v128.load(g + at), weight != 0 ? v128.load(weight + at) : one);
      v128.store(dx + at, f32x4.mul(f32x4.sub(f32x4.sub(dn, dnMeanV), f32x4.mul(normalized, dnNormMeanV)), sV));
    }
    for (; c < C; c++) {
      const at = <usize>c << 2;
      const normalized = (load<f32>(x + at) - m) * s;
      const dn = load<f32>(g + at) * (weight != 0 ? load<f32>(weight + at) : 1);
      store<f32>(dx + at, (dn - dnMean - normalized * dnNormMean) * s);
    }
  }
}
