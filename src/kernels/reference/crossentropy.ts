/**
 * Cross-entropy of logits against integer targets: log-softmax and negative log-likelihood fused
 * into one pass, forward and backward.
 *
 * reference: torch.nn.functional.cross_entropy(logits, targets, ignore_index, label_smoothing)
 * logits and dlogits are (N, C) row-major (N = B·T rows, C = V classes); targets, losses and
 * logNormalizers are (N). Rows whose target is `ignoreIndex` get loss 0 and gradient 0.
 *
 * With label smoothing ε the target distribution is (1 − ε)·onehot + ε/C, so per row
 *   loss = (1 − ε)·(lse − x[t]) + ε·(lse − mean_c x[c]),   lse = log Σ_c exp(x[c]),
 * computed as max + log Σ exp(x − max), so logits of ±1e4 stay finite.
 */
import type { Storage } from '../types.ts';

/** Fills `losses` (per row) and `logNormalizers` (lse per row, kept for the backward pass). */
export function crossEntropyForward(
  losses: Storage,
  logNormalizers: Float64Array,
  logits: Storage,
  targets: Int32Array,
  N: number,
  C: number,
  ignoreIndex: number,
  smoothing: number,
): void {
  for (let row = 0; row < N; row++) {
    const target = targets[row];
    if (target === ignoreIndex) {
      losses[row] = 0;
      logNormalizers[row] = 0;
      continue;
    }
    const base = row * C;
    let max = -Infinity;
    for (let c = 0; c < C; c++) if (logits[base + c] > max) max = logits[base + c];
    let sum = 0;
    let logitSum = 0;
    for (let c = 0; c < C; c++) {
      const x = logits[base + c];
      sum += Math.exp(x - max);
      logitSum += x;
    }
    const lse = max + Math.log(sum);
    logNormalizers[row] = lse;
    const nll = lse - logits[base + target];
    losses[row] = smoothing === 0 ? nll : (1 - smoothing) * nll + smoothing * (lse - logitSum / C);
  }
}

/**
 * dlogits[r, c] = rowScales[r] · (softmax(x[r])[c] − (1 − ε)·[c = t_r] − ε/C), where rowScales
 * carries dLoss/dloss_r (the incoming gradient, divided by the count for a mean).
 */
export function crossEntropyBackward(
  dlogits: Storage,
  logits: Storage,
  logNormalizers: Float64Array,
  targets: Int32Array,
  rowScales: ArrayLike<number>,
  N: number,
  C: number,
  ignoreIndex: number,
  smoothing: number,
): void {
  const uniform = smoothing / C;
  for (let row = 0; row < N; row++) {
    const base = row * C;
    const target = targets[row];
    const scale = rowScales[row];
    if (target === ignoreIndex || scale === 0) {
      for (let c = 0; c < C; c++) dlogits[base + c] = 0;
      continue;
    }
    const lse = logNormalizers[row];
    for (let c = 0; c < C; c++) dlogits[base + c] = scale * (Math.exp(logits[base + c] - lse) - uniform);
    dlogits[base + target] -= scale * (1 - smoothing);
  }
}
