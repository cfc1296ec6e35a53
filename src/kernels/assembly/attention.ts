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
import { expV } from './vmath';

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
    scores(T, hs, q + offset, k + offset, causal, P, work);
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
    timesLowerRows(T, hs, P, v + offset, out + offset, causal, work); // out = P·V
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
    scores(T, hs, q + offset, k + offset, causal, P, work);
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
    transposedTimesUpperRows(T, hs, P, dout + offset, dv + offset, causal, work); // dV = Pᵀ·dO
    scores(T, hs, dout + offset, v + offset, causal, dP, work); // dP = dO·Vᵀ
    // dS = P ⊙ (dP − D), D_i = Σ_c dO[i,c]·out[i,c] (= Σ_j P[i,j]·dP[i,j]); the scale folds in here.
    for (let i = 0; i < T; i++) {
      const rowOffset = <usize>i * hs * 4;
      let D: f32 = 0;
      for (let c = 0; c < hs; c++) D += load<f32>(dout + offset + rowOffset + (<usize>c << 2)) * load<f32>(out + offset + rowOffset + (<usize>c << 2));
      const p = P + <usize>i * T * 4;
      const d = dP + <usize>i * T * 4;
      const Dv = f32x4.splat(D);
      const scaleV = f32x4.splat(scale);
      // Causal: only the columns `scores` computed for this row block (P is 0 past them anyway).
      const end = causal ? min(T, (i / RB + 1) * RB) : T;
      let j = 0;
      for (; j + 4 <= end; j += 4) {
        const at = <usize>j << 2;
        v128.store(d + at, f32x4.mul(f32x4.mul(v128.load(p + at), f32x4.sub(v128.load(d + at), Dv)), scaleV));
      }
      for (; j < end; j++) {
        const at = <usize>j << 2;
        store<f32>(d + at, load<f32>(p + at) * (load<f32>(d + at) - D) * scale);
      }
    }
    timesLowerRows(T, hs, dP, k + offset, dq + offset, causal, work); // dQ = dS·K
    transposedTimesUpperRows(T, hs, dP, q + offset, dk + offset, causal, work); // dK = dSᵀ·Q
  }
}

// Causal attention skips the products' zero upper triangle in row blocks of RB queries: block
// [r0, r1) needs keys [0, r1) only, which saves ~25% of the multiply work at T = 128, ~37% at 256.
// @ts-ignore: decorator
@inline const RB: i32 = 64;

/** S (T×T, row stride T) = X·Yᵀ for X, Y (T, hs); causal: row block [r0, r1) gets columns [0, r1) only. */
function scores(T: i32, hs: i32, x: usize, y: usize, causal: i32, S: usize, work: usize): void {
  if (!causal) {
    gemm(T, T, hs, x, hs, 1, y, 1, hs, 0, S, T, 0, work);
    return;
  }
  for (let r0 = 0; r0 < T; r0 += RB) {
    const r1 = min(T, r0 + RB);
    gemm(r1 - r0, r1, hs, x + <usize>r0 * hs * 4, hs, 1, y, 1, hs, 0, S + <usize>r0 * T * 4, T, 0, work);
  }
}

/** out (T, hs) = L·Y with L (T×T) lower triangular when causal: row block [r0, r1) sums over [0, r1). */
function timesLowerRows(T: i32, hs: i32, L: usize, y: usize, out: usize, causal: i32, work: usize): void {
  if (!causal) {
    gemm(T, hs, T, L, T, 1, y, hs, 1, 0, out, hs, 0, work);
    return;
  }
  for (let r0 = 0; r0 < T; r0 += RB) {
    const r1 = min(T, r0 + RB);
    gemm(r1 - r0, hs, r1, L + <usize>r0 * T * 4, T, 1, y, hs, 1, 0, out + <usize>r0 * hs * 4, hs, 0, work);
  }
}

/** out (T, hs) = Lᵀ·Y with L lower triangular when causal: out row j sums over i ≥ j, so block [r0, r1) over [r0, T). */
function transposedTimesUpperRows(T: i32, hs: i32, L: usize, y: usize, out: usize, causal: i32, work: usize): void {
  if (!causal) {
    gemm(T, hs, T, L, 1, T, y, hs, 1, 0, out, hs, 0, work);
    return;
  }
  for (let r0 = 0; r0 < T; r0 += RB) {
    const r1 = min(T, r0 + RB);
    // A(j, i) = L[i][j] for j in [r0, r1), i in [r0, T).
    gemm(r1 - r0, hs, T - r0, L + (<usize>r0 * T + <usize>r0) * 4, 1, T, y + <usize>r0 * hs * 4, hs, 1, 0, out + <usize>r0 * hs * 4, hs, 0, work);
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
