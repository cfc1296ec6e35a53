/**
 * One Adam / AdamW step over a parameter's four arrays, in place: the reference the wasm and
 * native kernels are tested against, and what float64 parameters run.
 *
 * reference: torch.optim.Adam / torch.optim.AdamW
 *   g ← ∇ + λ·p (Adam's L2 penalty; 0 for AdamW),  p ← keep·p (AdamW: keep = 1 − η·λ),
 *   m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,
 *   p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
 * The step's scalars come precomputed (`AdamStepScalars`), so every backend does the same
 * few operations.
 */
import type { AdamStepScalars, Storage } from '../types.ts';

export function adamUpdate(param: Storage, grad: Storage, expAvg: Storage, expAvgSq: Storage, s: AdamStepScalars): void {
  const { beta1, beta2, l2Penalty, keep, stepSize, biasCorrection2Sqrt, eps } = s;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const g = grad[i] + l2Penalty * param[i];
    const m = beta1 * expAvg[i] + (1 - beta1) * g;
    const v = beta2 * expAvgSq[i] + (1 - beta2) * g * g;
    expAvg[i] = m;
    expAvgSq[i] = v;
    param[i] = keep * param[i] - (stepSize * m) / (Math.sqrt(v) / biasCorrection2Sqrt + eps);
  }
}
