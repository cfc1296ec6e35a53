/**
 * Exact match and token accuracy of generated sequences against references.
 *
 * - exact match: the fraction of segments whose hypothesis equals the reference exactly (after
 *   an optional normalisation; none by default, so "2021-03-03" ≠ "2021-03-03 ").
 * - token accuracy: position-wise agreement, Σ_i #{t : hyp_i[t] = ref_i[t]} / Σ_i |ref_i|, the
 *   share of reference tokens reproduced in place (a hypothesis shorter or longer than its
 *   reference loses the positions it misses; extra tokens are not counted against it).
 */
import { QkvValueError } from '../tensor/errors.ts';

function checkLengths(op: string, hypotheses: readonly unknown[], references: readonly unknown[]): void {
  if (hypotheses.length !== references.length) {
    throw new QkvValueError(`${op}: ${hypotheses.length} hypotheses but ${references.length} references (one per segment)`);
  }
}

/** @example exactMatch(['2021-03-03', '2020-01-01'], ['2021-03-03', '2020-01-02']) // 0.5 */
export function exactMatch(hypotheses: readonly string[], references: readonly string[], normalize: (text: string) => string = (text) => text): number {
  checkLengths('exactMatch', hypotheses, references);
  if (hypotheses.length === 0) return 0;
  let matches = 0;
  for (let i = 0; i < hypotheses.length; i++) if (normalize(hypotheses[i]) === normalize(references[i])) matches++;
  return matches / hypotheses.length;
}

/** @example tokenAccuracy([['a', 'b', 'x']], [['a', 'b', 'c', 'd']]) // 0.5 */
export function tokenAccuracy<T>(hypotheses: readonly (readonly T[])[], references: readonly (readonly T[])[]): number {
  checkLengths('tokenAccuracy', hypotheses, references);
  let matches = 0;
  let total = 0;
  for (let i = 0; i < references.length; i++) {
    const reference = references[i];
    total += reference.length;
    for (let t = 0; t < reference.length; t++) if (hypotheses[i][t] === reference[t]) matches++;
  }
  return total === 0 ? 0 : matches / total;
}
