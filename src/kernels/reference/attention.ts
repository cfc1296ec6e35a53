/**
 * Fused scaled dot-product attention, forward and backward, straight from the definition: the
 * reference for the wasm and native kernels, and what float64 runs.
 *
 *   S = scale · Q·Kᵀ, masked to −∞ (causal: key j > query i; padding: key j padded),
 *   P = softmax(S) per row, out = P·V, lse = log Σ_j exp(S) (−∞ when every key is masked; then
 *   out = 0 and the gradients are 0, not NaN).
 *   backward: dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP − D) with D_i = Σ_c dO[i,c]·out[i,c],
 *             dQ = scale·dS·K, dK = scale·dSᵀ·Q.
 *
 * Legend: B = batch, NH = heads, T = time, hs = head size; q, k, v, out and the gradients are
 * (B, NH, T, hs) contiguous, lse (B, NH, T). Sums are carried in float64.
 */
import type { AttentionParams, Storage } from '../types.ts';

/** P for one head into `probs` (T·T); returns nothing, fills lse[row0 .. row0 + T). */
function headProbabilities(probs: Float64Array, lse: Storage, row0: number, q: Storage, k: Storage, base: number, p: AttentionParams, batch: number): void {
  const { T, hs } = p;
  const scale = p.scale ?? 1 / Math.sqrt(hs);
  for (let i = 0; i < T; i++) {
    let max = -Infinity;
    for (let j = 0; j < T; j++) {
      let s = -Infinity;
      const masked = (p.causal === true && j > i) || (p.keyPadding !== undefined && p.keyPadding[batch * T + j] !== 0);
      if (!masked) {
        s = 0;
        for (let c = 0; c < hs; c++) s += q[base + i * hs + c] * k[base + j * hs + c];
        s *= scale;
      }
      probs[i * T + j] = s;
      if (s > max) max = s;
    }
    if (max === -Infinity) {
      for (let j = 0; j < T; j++) probs[i * T + j] = 0;
      lse[row0 + i] = -Infinity;
      continue;
    }
    let sum = 0;
    for (let j = 0; j < T; j++) {
      const e = probs[i * T + j] === -Infinity ? 0 : Math.exp(probs[i * T + j] - max);
      probs[i * T + j] = e;
      sum += e;
    }
    for (let j = 0; j < T; j++) probs[i * T + j] /= sum;
    lse[row0 + i] = max + Math.log(sum);
  }
}

export function attentionForward(out: Storage, lse: Storage, q: Storage, k: Storage, v: Storage, p: AttentionParams): void {
  const { B, NH, T, hs } = p;
  const probs = new Float64Array(T * T);
  for (let head = 0; head < B * NH; head++) {
    const base = head * T * hs;
    headProbabilities(probs, lse, head * T, q, k, base, p, Math.floor(head / NH));
    for (let i = 0; i < T; i++) {
      for (let c = 0; c < hs; c++) {
        let sum = 0;
        for (let j = 0; j < T; j++) sum += probs[i * T + j] * v[base + j * hs + c];
        out[base + i * hs + c] = sum;
      }
    }
  }
}

/** dq, dk, dv (overwritten) from dout and the forward's q, k, v, out (lse is recomputed here). */
export function attentionBackward(
  dq: Storage, dk: Storage, dv: Storage, dout: Storage,
  q: Storage, k: Storage, v: Storage, out: Storage, _lse: Storage, p: AttentionParams,
): void {
  const { B, NH, T, hs } = p;
  const scale = p.scale ?? 1 / Math.sqrt(hs);
  const probs = new Float64Array(T * T);
  const dS = new Float64Array(T * T);
  const lse = new Float64Array(T);
  for (let head = 0; head < B * NH; head++) {
    const base = head * T * hs;
    headProbabilities(probs, lse, 0, q, k, base, p, Math.floor(head / NH));
    for (let i = 0; i < T; i++) {
      let D = 0;
      for (let c = 0; c < hs; c++) D += dout[base + i * hs + c] * out[base + i * hs + c];
      for (let j = 0; j < T; j++) {
        let dP = 0;
        for (let c = 0; c < hs; c++) dP += dout[base + i * hs + c] * v[base + j * hs + c];
        dS[i * T + j] = probs[i * T + j] * (dP - D) * scale;
      }
    }
    for (let j = 0; j < T; j++) {
      for (let c = 0; c < hs; c++) {
        let sumV = 0, sumK = 0;
        for (let i = 0; i < T; i++) {
          sumV += probs[i * T + j] * dout[base + i * hs + c];
          sumK += dS[i * T + j] * q[base + i * hs + c];
        }
        dv[base + j * hs + c] = sumV;
        dk[base + j * hs + c] = sumK;
      }
    }
    for (let i = 0; i < T; i++) {
      for (let c = 0; c < hs; c++) {
        let sum = 0;
        for (let j = 0; j < T; j++) sum += dS[i * T + j] * k[base + j * hs + c];
        dq[base + i * hs + c] = sum;
      }
    }
  }
}
