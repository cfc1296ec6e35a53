/**
 * Softmax and log-softmax over one axis of a contiguous array, forward and backward.
 *
 * reference: torch.softmax / torch.log_softmax
 * Every array is (outer, C, inner) row-major and the op runs over C: element (o, c, i) is at
 * (o·C + c)·inner + i. For the usual last-axis case inner = 1 and rows are contiguous, e.g.
 * (B·T, V) logits or (B·NH·T, T) attention scores.
 *
 * Stable form: the row max is subtracted before exp, so logits of ±1e4 stay finite.
 * A row that is entirely −∞ (every key masked) has no max to subtract; by definition here its
 * softmax is all zeros (not 0/0 = NaN) and its log-softmax all −∞, and no gradient flows through
 * it.
 */
import type { Storage } from '../types.ts';

/** out = exp(inp − max) / Σ exp(inp − max) over C. */
export function softmaxForward(out: Storage, inp: Storage, outer: number, C: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * C * inner + i;
      let max = -Infinity;
      for (let c = 0; c < C; c++) {
        const v = inp[base + c * inner];
        if (v > max) max = v;
      }
      if (max === -Infinity) {
        for (let c = 0; c < C; c++) out[base + c * inner] = 0;
        continue;
      }
      let sum = 0;
      for (let c = 0; c < C; c++) {
        const e = Math.exp(inp[base + c * inner] - max);
        out[base + c * inner] = e;
        sum += e;
      }
      const scale = 1 / sum;
      for (let c = 0; c < C; c++) out[base + c * inner] *= scale;
    }
  }
}

/**
 * dinp = y ⊙ (dout − Σ_c dout·y), with y the softmax output (saved by the forward).
 * A fully masked row (y all 0) gets dinp = 0.
 */
export function softmaxBackward(dinp: Storage, dout: Storage, out: Storage, outer: number, C: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * C * inner + i;
      let dot = 0;
      for (let c = 0; c < C; c++) dot += dout[base + c * inner] * out[base + c * inner];
      for (let c = 0; c < C; c++) {
        const index = base + c * inner;
        dinp[index] = out[index] * (dout[index] - dot);
      }
    }
  }
}

/** out = inp − max − log Σ exp(inp − max) over C. */
export function logSoftmaxForward(out: Storage, inp: Storage, outer: number, C: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * C * inner + i;
      let max = -Infinity;
      for (let c = 0; c < C; c++) {
        const v = inp[base + c * inner];
        if (v > max) max = v;
      }
      if (max === -Infinity) {
        for (let c = 0; c < C; c++) out[base + c * inner] = -Infinity;
        continue;
      }
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(inp[base + c * inner] - max);
      const logNormalizer = max + Math.log(sum);
      for (let c = 0; c < C; c++) out[base + c * inner] = inp[base + c * inner] - logNormalizer;
    }
  }
}

/**
 * dinp = dout − exp(y) · Σ_c dout, with y the log-softmax output (saved by the forward).
 * A fully masked row (y all −∞) gets dinp = 0.
 */
export function logSoftmaxBackward(dinp: Storage, dout: Storage, out: Storage, outer: number, C: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * C * inner + i;
      let total = 0;
      let masked = true;
      for (let c = 0; c < C; c++) {
        total += dout[base + c * inner];
        if (out[base + c * inner] !== -Infinity) masked = false;
      }
      for (let c = 0; c < C; c++) {
        const index = base + c * inner;
        dinp[index] = masked ? 0 : dout[index] - Math.exp(out[index]) * total;
      }
    }
  }
}
