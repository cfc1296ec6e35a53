/**
 * distinct-n (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural Conversation
 * Models"): the number of distinct n-grams over all outputs divided by the total number of
 * n-grams, tokens split on whitespace. 1 when no n-gram repeats; near 0 for a model that says
 * the same thing every time.
 */
import { QkvValueError } from '../tensor/errors.ts';

/** @example distinctN(['a b a b'], 2) // 2 distinct of 3 bigrams → 0.667 */
export function distinctN(texts: readonly string[], n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new QkvValueError(`distinctN: n must be a positive integer, got ${n}`);
  const seen = new Set<string>();
  let total = 0;
  for (const text of texts) {
    const tokens = text.split(/\s+/).filter((token) => token !== '');
    for (let i = 0; i + n <= tokens.length; i++) {
      seen.add(tokens.slice(i, i + n).join(' '));
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}
