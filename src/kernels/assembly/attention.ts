// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// Fused scaled dot-product attention, forward and backward, one head at a time:
//   S = scale · Q·Kᵀ, masked (causal: key j > query i; padding: key j padded) to −∞,
//   P = softmax(S) row by row, out = P·V, and lse = log Σ exp(S) per row for the backward.
// Only one (T, T) tile per head lives at a time (two in the backward: P and dP), in per-thread
// scratch; the four products run on the packed sgemm.
//
// Legend: B = batch, NH = heads, T = time, hs = head size. q, k, v, out, dout, dq, dk, dv are
// (B·NH, T, hs) row-major float32; lse is (B·NH, T); keyPad is (B, T) bytes, 1 = padded key, or
// 0 for none. A query row whose keys are all masked gets out = 0, lse = −∞ and zero gradients
// (not NaN). `scaleBits` is the f32 scale's bit pattern.

import { gemm } from './sgemm';

/** Scratch bytes one thread needs at sequence length T: P and dP. */
export function attentionScratchBytes(T: i32): i32 {
  return 2 * T * T * 4;
}

export function attentionForward(
  T: i32, hs: i32, NH: i32, head0: i32, count: i32,
  q: usize, k: usize, v: usize, out: usize, lse: usize, keyPad: usize,
  causal: i32, scaleBits: i32, scratch: usize, work: usize,
): void {
  const scale = reinterpret<f32>(scaleBits);
  const P = scratch;
  for (let head = head0; head < head0 + count; head++) {
    const offset = <usize>head * T * hs * 4;
    const pad = keyPad == 0 ? 0 : keyPad + <usize>(head / NH) * T;
    gemm(T, T, hs, q + offset, hs, 1, k + offset, 1, hs, 0, P, T, 0, work); // S = Q·Kᵀ
    const lseHead = lse + <usize>head * T * 4;
    for (let i = 0; i < T; i++) {
      const row = P + <usize>i * T * 4;
      const end = maskRow(row, T, i, causal, pad, scale);
      const max = rowMax(row, end);
      if (max == -Infinity) {
        memory.fill(row, 0, <usize>T << 2);
        store<f32>(lseHead + (<usize>i << 2), -Infinity);
        continue;
      }
      const sum = expRow(row, end, max);
      const inverse = f32x4.splat(1 / sum);
      let j = 0;
      for (; j + 4 <= end; j += 4) v128.store(row + (<usize>j << 2), f32x4.mul(v128.load(row + (<usize>j << 2)), inverse));
      for (; j < end; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) / sum);
      store<f32>(lseHead + (<usize>i << 2), max + Mathf.log(sum));
    }
    gemm(T, hs, T, P, T, 1, v + offset, hs, 1, 0, out + offset, hs, 0, work); // out = P·V
  }
}

/** Gradients are written, not accumulated: dq, dk, dv for these heads are overwritten. */
export function attentionBackward(
  T: i32, hs: i32, NH: i32, head0: i32, count: i32,
  q: usize, k: usize, v: usize, out: usize, dout: usize, lse: usize,
  dq: usize, dk: usize, dv: usize, keyPad: usize,
  causal: i32, scaleBits: i32, scratch: usize, work: usize,
): void {
  const scale = reinterpret<f32>(scaleBits);
  const P = scratch;
  const dP = scratch + <usize>T * T * 4;
  for (let head = head0; head < head0 + count; head++) {
    const offset = <usize>head * T * hs * 4;
    const pad = keyPad == 0 ? 0 : keyPad + <usize>(head / NH) * T;
    const lseHead = lse + <usize>head * T * 4;
    // P again, from S and the saved lse: cheaper than keeping B·NH·T² floats from the forward.
    gemm(T, T, hs, q + offset, hs, 1, k + offset, 1, hs, 0, P, T, 0, work);
    for (let i = 0; i < T; i++) {
      const row = P + <usize>i * T * 4;
      const rowLse = load<f32>(lseHead + (<usize>i << 2));
      if (rowLse == -Infinity) {
        memory.fill(row, 0, <usize>T << 2);
        continue;
      }
      const end = maskRow(row, T, i, causal, pad, scale);
      expRow(row, end, rowLse);
    }
    gemm(T, hs, T, P, 1, T, dout + offset, hs, 1, 0, dv + offset, hs, 0, work); // dV = Pᵀ·dO
    gemm(T, T, hs, dout + offset, hs, 1, v + offset, 1, hs, 0, dP, T, 0, work); // dP = dO·Vᵀ
    // dS = P ⊙ (dP − D), D_i = Σ_c dO[i,c]·out[i,c] (= Σ_j P[i,j]·dP[i,j]); the scale folds in here.
    for (let i = 0; i < T; i++) {
      const rowOffset = <usize>i * hs * 4;
      let D: f32 = 0;
      for (let c = 0; c < hs; c++) D += load<f32>(dout + offset + rowOffset + (<usize>c << 2)) * load<f32>(out + offset + rowOffset + (<usize>c << 2));
      const p = P + <usize>i * T * 4;
      const d = dP + <usize>i * T * 4;
      const Dv = f32x4.splat(D);
      const scaleV = f32x4.splat(scale);
      let j = 0;
      for (; j + 4 <= T; j += 4) {
        const at = <usize>j << 2;
        v128.store(d + at, f32x4.mul(f32x4.mul(v128.load(p + at), f32x4.sub(v128.load(d + at), Dv)), scaleV));
      }
      for (; j < T; j++) {
        const at = <usize>j << 2;
        store<f32>(d + at, load<f32>(p + at) * (load<f32>(d + at) - D) * scale);
      }
    }
    gemm(T, hs, T, dP, T, 1, k + offset, hs, 1, 0, dq + offset, hs, 0, work); // dQ = dS·K
    gemm(T, hs, T, dP, 1, T, q + offset, hs, 1, 0, dk + offset, hs, 0, work); // dK = dSᵀ·Q
  }
}

/**
 * Row i of S: scale it and set masked keys to −∞. Returns the end of the keys that can be
 * unmasked (i + 1 when causal, else T); entries from there on are set to 0, not −∞, so the
 * row is already final there.
 */
function maskRow(row: usize, T: i32, i: i32, causal: i32, pad: usize, scale: f32): i32 {
  const end = causal ? i + 1 : T;
  const scaleV = f32x4.splat(scale);
  let j = 0;
  for (; j + 4 <= end; j += 4) v128.store(row + (<usize>j << 2), f32x4.mul(v128.load(row + (<usize>j << 2)), scaleV));
  for (; j < end; j++) store<f32>(row + (<usize>j << 2), load<f32>(row + (<usize>j << 2)) * scale);
  if (end < T) memory.fill(row + (<usize>end << 2), 0, <usize>(T - end) << 2);
  if (pad != 0) {
    for (let jj = 0; jj < end; jj++) {
      if (load<u8>(pad + <usize>jj) != 0) store<f32>(row + (<usize>jj << 2), -Infinity);
    }
  }
  return end;
}

function rowMax(row: usize, end: i32): f32 {
  let maxV = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= end; j += 4) maxV = f32x4.max(maxV, v128.load(row + (<usize>j << 2)));
  let best = max(max(f32x4.extract_lane(maxV, 0), f32x4.extract_lane(maxV, 1)), max(f32x4.extract_lane(maxV, 2), f32x4.extract_lane(maxV, 3)));
  for (; j < end; j++) best = max(best, load<f32>(row + (<usize>j << 2)));
  return best;
}

/** row[j] = exp(row[j] − shift) for j < end (−∞ → exactly 0); returns the sum. */
function expRow(row: usize, end: i32, shift: f32): f32 {
  const shiftV = f32x4.splat(shift);
  const negInf = f32x4.splat(-Infinity);
  const zero = f32x4.splat(0);
  let sumV = zero;
  let j = 0;
  for (; j + 4 <= end; j += 4) {
    const at = row + (<usize>j << 2);
    const s = v128.load(at);
    const e = v128.bitselect(expV(f32x4.sub(s, shiftV)), zero, f32x4.ne(s, negInf));
    v128.store(at, e);
    sumV = f32x4.add(sumV, e);
  }
  let sum = f32x4.extract_lane(sumV, 0) + f32x4.extract_lane(sumV, 1) + f32x4.extract_lane(sumV, 2) + f32x4.extract_lane(sumV, 3);
  for (; j < end; j++) {
    const at = row + (<usize>j << 2);
    const s = load<f32>(at);
    const e: f32 = s == -Infinity ? 0 : Mathf.exp(s - shift);
    store<f32>(at, e);
    sum += e;
  }
  return sum;
}

/**
 * exp on 4 lanes, Cephes expf: x = n·ln2 + r with |r| ≤ ln2/2, exp(r) by a degree-6 polynomial,
 * times 2^n built in the exponent bits. Relative error ~1e-7 over the clamped range [−87.3, 88.3].
 */
// @ts-ignore: decorator
@inline function expV(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.3)), f32x4.splat(88.3));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(5.0000001201e-1));
  y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(y, r), r), r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}
