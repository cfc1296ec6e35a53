// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// Cross-entropy of logits against integer targets, log-softmax and NLL fused, forward beside
// backward, classes 4 lanes at a time.
//   reference: crossEntropyForward / crossEntropyBackward in src/kernels/reference/crossentropy.ts
//   loss = (1 − ε)·(lse − x[t]) + ε·(lse − mean_c x[c]),  lse = max + log Σ_c exp(x[c] − max)
//   dlogits[c] = scale · (exp(x[c] − lse) − ε/C − (1 − ε)·[c = t])
// Legend: N = rows (B·T), C = classes (V). logits and dlogits are (N, C) float32; targets (N)
// int32; losses, lse and rowScales (N) float32. Rows whose target is ignoreIndex get loss 0,
// lse 0 and a zero gradient, as do rows whose scale is 0.

import { expV } from './vmath';

export function crossEntropyForward(
  N: i32, C: i32, logits: usize, targets: usize, losses: usize, lse: usize, ignoreIndex: i32, smoothing: f32,
): void {
  const rowBytes = <usize>C << 2;
  for (let row = 0; row < N; row++) {
    const target = load<i32>(targets + (<usize>row << 2));
    if (target == ignoreIndex) {
      store<f32>(losses + (<usize>row << 2), 0);
      store<f32>(lse + (<usize>row << 2), 0);
      continue;
    }
    const x = logits + <usize>row * rowBytes;
    let maxV = f32x4.splat(-Infinity);
    let c = 0;
    for (; c + 4 <= C; c += 4) maxV = f32x4.max(maxV, v128.load(x + (<usize>c << 2)));
    let rowMax = max(max(f32x4.extract_lane(maxV, 0), f32x4.extract_lane(maxV, 1)), max(f32x4.extract_lane(maxV, 2), f32x4.extract_lane(maxV, 3)));
    for (; c < C; c++) rowMax = max(rowMax, load<f32>(x + (<usize>c << 2)));
    const shift = f32x4.splat(rowMax);
    let sumV = f32x4.splat(0);
    let logitSumV = f32x4.splat(0);
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const v = v128.load(x + (<usize>c << 2));
      sumV = f32x4.add(sumV, expV(f32x4.sub(v, shift)));
      logitSumV = f32x4.add(logitSumV, v);
    }
    let sum = (f32x4.extract_lane(sumV, 0) + f32x4.extract_lane(sumV, 1)) + (f32x4.extract_lane(sumV, 2) + f32x4.extract_lane(sumV, 3));
    let logitSum = (f32x4.extract_lane(logitSumV, 0) + f32x4.extract_lane(logitSumV, 1)) + (f32x4.extract_lane(logitSumV, 2) + f32x4.extract_lane(logitSumV, 3));
    for (; c < C; c++) {
      const v = load<f32>(x + (<usize>c << 2));
      sum += f32x4.extract_lane(expV(f32x4.splat(v - rowMax)), 0);
      logitSum += v;
    }
    const rowLse = rowMax + Mathf.log(sum);
    const nll = rowLse - load<f32>(x + (<usize>target << 2));
    store<f32>(lse + (<usize>row << 2), rowLse);
    store<f32>(losses + (<usize>row << 2), smoothing == 0 ? nll : (1 - smoothing) * nll + smoothing * (rowLse - logitSum / <f32>C));
  }
}

export function crossEntropyBackward(
  N: i32, C: i32, logits: usize, lse: usize, targets: usize, rowScales: usize, dlogits: usize, ignoreIndex: i32, smoothing: f32,
): void {
  const rowBytes = <usize>C << 2;
  const uniform: f32 = smoothing / <f32>C;
  const uniformV = f32x4.splat(uniform);
  for (let row = 0; row < N; row++) {
    const x = logits + <usize>row * rowBytes;
    const d = dlogits + <usize>row * rowBytes;
    const target = load<i32>(targets + (<usize>row << 2));
    const scale = load<f32>(rowScales + (<usize>row << 2));
    if (target == ignoreIndex || scale == 0) {
      memory.fill(d, 0, rowBytes);
      continue;
    }
    const rowLse = load<f32>(lse + (<usize>row << 2));
    const shift = f32x4.splat(rowLse);
    const scaleV = f32x4.splat(scale);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = <usize>c << 2;
      v128.store(d + at, f32x4.mul(scaleV, f32x4.sub(expV(f32x4.sub(v128.load(x + at), shift)), uniformV)));
    }
    for (; c < C; c++) {
      const at = <usize>c << 2;
      store<f32>(d + at, scale * (f32x4.extract_lane(expV(f32x4.splat(load<f32>(x + at) - rowLse)), 0) - uniform));
    }
    const at = d + (<usize>target << 2);
    store<f32>(at, load<f32>(at) - scale * (1 - smoothing));
  }
}
