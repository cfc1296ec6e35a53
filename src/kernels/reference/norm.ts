/**
 * Normalisation layers, forward beside backward: LayerNorm, RMSNorm, BatchNorm.
 *
 * Legend: N = rows (B·T for activations), C = channels (the normalised features), and for
 * BatchNorm L = length (the third axis of (N, C, L) inputs; 1 for (N, C)).
 * Statistics are carried in float64 whatever the storage, and saved for the backward pass.
 * `weight`/`bias` may be null (a gain of 1 and a shift of 0). Gradients of weight and bias are
 * added into float64 accumulators (`+=`), so the caller zeroes them; input gradients are written.
 */
import type { Storage } from '../types.ts';

// ---- LayerNorm ----------------------------------------------------------------------------

/**
 * reference: torch.nn.LayerNorm over the last axis (biased variance, eps inside the sqrt)
 * inp and out are (N, C); mean and rstd are (N), kept for layerNormBackward.
 * out = (x − mean) · rstd · weight + bias, rstd = 1/√(var + eps).
 */
export function layerNormForward(
  out: Storage,
  mean: Float64Array,
  rstd: Float64Array,
  inp: Storage,
  weight: Storage | null,
  bias: Storage | null,
  N: number,
  C: number,
  eps: number,
): void {
  for (let row = 0; row < N; row++) {
    const base = row * C;
    let sum = 0;
    for (let c = 0; c < C; c++) sum += inp[base + c];
    const m = sum / C;
    // Two passes: Σ(x − m)² does not cancel catastrophically the way Σx² − C·m² can.
    let squares = 0;
    for (let c = 0; c < C; c++) {
      const centred = inp[base + c] - m;
      squares += centred * centred;
    }
    const s = 1 / Math.sqrt(squares / C + eps);
    for (let c = 0; c < C; c++) {
      const normalized = (inp[base + c] - m) * s;
      out[base + c] = normalized * (weight === null ? 1 : weight[c]) + (bias === null ? 0 : bias[c]);
    }
    mean[row] = m;
    rstd[row] = s;
  }
}

/**
 * The llm.c layernorm_backward: with n = (x − mean)·rstd and dn = dout·weight,
 *   dinp = rstd · (dn − mean(dn) − n · mean(dn·n)),
 *   dweight += Σ_rows dout·n,  dbias += Σ_rows dout.
 * dinp (N, C) is written (skipped when null); dweight and dbias (C) are accumulated.
 */
export function layerNormBackward(
  dinp: Storage | null,
  dweight: Float64Array | null,
  dbias: Float64Array | null,
  dout: Storage,
  inp: Storage,
  weight: Storage | null,
  mean: Float64Array,
  rstd: Float64Array,
  N: number,
  C: number,
): void {
  for (let row = 0; row < N; row++) {
    const base = row * C;
    const m = mean[row];
    const s = rstd[row];
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let c = 0; c < C; c++) {
      const normalized = (inp[base + c] - m) * s;
      const dnorm = (weight === null ? 1 : weight[c]) * dout[base + c];
      dnormMean += dnorm;
      dnormNormMean += dnorm * normalized;
      if (dweight !== null) dweight[c] += dout[base + c] * normalized;
      if (dbias !== null) dbias[c] += dout[base + c];
    }
    if (dinp === null) continue;
    dnormMean /= C;
    dnormNormMean /= C;
    for (let c = 0; c < C; c++) {
      const normalized = (inp[base + c] - m) * s;
      const dnorm = (weight === null ? 1 : weight[c]) * dout[base + c];
      dinp[base + c] = (dnorm - dnormMean - normalized * dnormNormMean) * s;
    }
  }
}

// ---- RMSNorm ------------------------------------------------------------------------------

/**
 * reference: Zhang & Sennrich 2019; Llama's RMSNorm (eps inside the sqrt, no mean, no bias)
 * inp and out are (N, C); rrms is (N), kept for rmsNormBackward.
 * out = x · rrms · weight, rrms = 1/√(mean(x²) + eps).
 */
export function rmsNormForward(out: Storage, rrms: Float64Array, inp: Storage, weight: Storage | null, N: number, C: number, eps: number): void {
  for (let row = 0; row < N; row++) {
    const base = row * C;
    let squares = 0;
    for (let c = 0; c < C; c++) squares += inp[base + c] * inp[base + c];
    const r = 1 / Math.sqrt(squares / C + eps);
    for (let c = 0; c < C; c++) out[base + c] = inp[base + c] * r * (weight === null ? 1 : weight[c]);
    rrms[row] = r;
  }
}

/**
 * With n = x·rrms and dn = dout·weight:
 *   dinp = rrms · (dn − n · mean(dn·n)),  dweight += Σ_rows dout·n.
 */
export function rmsNormBackward(
  dinp: Storage | null,
  dweight: Float64Array | null,
  dout: Storage,
  inp: Storage,
  weight: Storage | null,
  rrms: Float64Array,
  N: number,
  C: number,
): void {
  for (let row = 0; row < N; row++) {
    const base = row * C;
    const r = rrms[row];
    let dnormNormMean = 0;
    for (let c = 0; c < C; c++) {
      const normalized = inp[base + c] * r;
      dnormNormMean += (weight === null ? 1 : weight[c]) * dout[base + c] * normalized;
      if (dweight !== null) dweight[c] += dout[base + c] * normalized;
    }
    if (dinp === null) continue;
    dnormNormMean /= C;
    for (let c = 0; c < C; c++) {
      const normalized = inp[base + c] * r;
      dinp[base + c] = ((weight === null ? 1 : weight[c]) * dout[base + c] - normalized * dnormNormMean) * r;
    }
  }
}

// ---- BatchNorm ----------------------------------------------------------------------------
// reference: torch.nn.BatchNorm1d. inp, out are (N, C, L) (L = 1 for (N, C) inputs); the
// statistics are per channel over the N·L values of that channel. Loops run n, c, l in storage
// order and keep per-channel sums in (C) arrays, so memory is read front to back.

/** mean and variance (biased: divided by N·L) of each channel, both (C). */
export function batchNormStatistics(mean: Float64Array, variance: Float64Array, inp: Storage, N: number, C: number, L: number): void {
  const count = N * L;
  mean.fill(0);
  variance.fill(0);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * L;
      let sum = 0;
      for (let l = 0; l < L; l++) sum += inp[base + l];
      mean[c] += sum;
    }
  }
  for (let c = 0; c < C; c++) mean[c] /= count;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * L;
      const m = mean[c];
      let squares = 0;
      for (let l = 0; l < L; l++) {
        const centred = inp[base + l] - m;
        squares += centred * centred;
      }
      variance[c] += squares;
    }
  }
  for (let c = 0; c < C; c++) variance[c] /= count;
}

/** out = (x − mean[c]) · rstd[c] · weight[c] + bias[c]; mean and rstd (C) are batch or running statistics. */
export function batchNormForward(
  out: Storage,
  inp: Storage,
  mean: Float64Array,
  rstd: Float64Array,
  weight: Storage | null,
  bias: Storage | null,
  N: number,
  C: number,
  L: number,
): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * L;
      const m = mean[c];
      const scale = rstd[c] * (weight === null ? 1 : weight[c]);
      const shift = bias === null ? 0 : bias[c];
      for (let l = 0; l < L; l++) out[base + l] = (inp[base + l] - m) * scale + shift;
    }
  }
}

/**
 * With n = (x − mean)·rstd and dn = dout·weight, per channel over its N·L values:
 *   training (batch statistics, which depend on x): dinp = rstd · (dn − mean(dn) − n · mean(dn·n))
 *   eval (running statistics, constants):           dinp = rstd · dn
 *   dweight[c] += Σ dout·n,  dbias[c] += Σ dout.
 */
export function batchNormBackward(
  dinp: Storage | null,
  dweight: Float64Array | null,
  dbias: Float64Array | null,
  dout: Storage,
  inp: Storage,
  weight: Storage | null,
  mean: Float64Array,
  rstd: Float64Array,
  N: number,
  C: number,
  L: number,
  training: boolean,
): void {
  const count = N * L;
  const sumDout = new Float64Array(C);
  const sumDoutNorm = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * L;
      const m = mean[c];
      const s = rstd[c];
      let channelDout = 0;
      let channelDoutNorm = 0;
      for (let l = 0; l < L; l++) {
        const g = dout[base + l];
        channelDout += g;
        channelDoutNorm += g * (inp[base + l] - m) * s;
      }
      sumDout[c] += channelDout;
      sumDoutNorm[c] += channelDoutNorm;
    }
  }
  if (dweight !== null) for (let c = 0; c < C; c++) dweight[c] += sumDoutNorm[c];
  if (dbias !== null) for (let c = 0; c < C; c++) dbias[c] += sumDout[c];
  if (dinp === null) return;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = (n * C + c) * L;
      const w = weight === null ? 1 : weight[c];
      const s = rstd[c];
      if (!training) {
        for (let l = 0; l < L; l++) dinp[base + l] = dout[base + l] * w * s;
        continue;
      }
      // mean(dn) = w·Σdout/count and mean(dn·n) = w·Σ(dout·n)/count, as weight is constant per channel
      const dnormMean = (w * sumDout[c]) / count;
      const dnormNormMean = (w * sumDoutNorm[c]) / count;
      const m = mean[c];
      for (let l = 0; l < L; l++) {
        const normalized = (inp[base + l] - m) * s;
        dinp[base + l] = (w * dout[base + l] - dnormMean - normalized * dnormNormMean) * s;
      }
    }
  }
}
