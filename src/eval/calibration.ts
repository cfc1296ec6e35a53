/**
 * Contextual calibration (Zhao, Wallace, Feng, Klein & Singh, "Calibrate Before Use", ICML 2021).
 *
 * A few-shot prompt biases a language model towards some label words (the majority or most recent
 * label among the demonstrations, or a word the model likes in general). Estimate that bias with
 * content-free inputs ("N/A", "", "[MASK]") in place of the test input: their label probabilities,
 * renormalised and averaged, give p_cf. Each prediction p is then rescaled by W = diag(p_cf)⁻¹
 * and renormalised, q = W·p / Σ W·p, so a content-free input scores uniformly.
 */
import { QkvValueError } from '../tensor/errors.ts';

/** The content-free inputs of the paper. */
export const CONTENT_FREE_INPUTS = ['N/A', '', '[MASK]'] as const;

function normalise(row: readonly number[], what: string): number[] {
  const total = row.reduce((sum, p) => sum + p, 0);
  if (!(total > 0) || row.some((p) => !(p >= 0))) throw new QkvValueError(`${what}: probabilities must be ≥ 0 with a positive sum, got ${JSON.stringify(row)}`);
  return row.map((p) => p / total);
}

/** p_cf: the mean of the content-free inputs' label distributions, each renormalised over the labels. */
export function contentFreeDistribution(contentFree: readonly (readonly number[])[]): number[] {
  if (contentFree.length === 0) throw new QkvValueError('contextual calibration: no content-free inputs');
  const L = contentFree[0].length;
  const mean = new Array<number>(L).fill(0);
  for (const row of contentFree) {
    if (row.length !== L) throw new QkvValueError(`contextual calibration: every content-free row needs ${L} label probabilities, got ${row.length}`);
    normalise(row, 'content-free input').forEach((p, i) => (mean[i] += p / contentFree.length));
  }
  return mean;
}

/**
 * Rescales each row of label probabilities by 1/p_cf and renormalises.
 *
 * @example calibrate([[0.6, 0.4]], [0.75, 0.25]) // [[0.333…, 0.666…]]: 0.6/0.75 = 0.8, 0.4/0.25 = 1.6
 */
export function calibrate(probabilities: readonly (readonly number[])[], contentFreeMean: readonly number[]): number[][] {
  if (contentFreeMean.some((p) => !(p > 0))) throw new QkvValueError(`contextual calibration: p_cf must be > 0 for every label, got ${JSON.stringify(contentFreeMean)}`);
  return probabilities.map((row) => {
    if (row.length !== contentFreeMean.length) throw new QkvValueError(`contextual calibration: rows need ${contentFreeMean.length} label probabilities, got ${row.length}`);
    return normalise(normalise(row, 'prediction').map((p, i) => p / contentFreeMean[i]), 'calibrated prediction');
  });
}

/** Index of the largest entry of each row. */
export function argmaxRows(rows: readonly (readonly number[])[]): number[] {
  return rows.map((row) => row.indexOf(Math.max(...row)));
}
