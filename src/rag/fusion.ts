/**
 * Reciprocal-rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): each ranking gives a
 * document 1 / (k + rank), rank counted from 1, and the fused score is the sum over rankings.
 * It needs no score calibration between a cosine and a BM25 score, which live on unrelated
 * scales; k = 60 is the paper's constant, which damps the weight of the very first ranks.
 *
 * @example
 *   reciprocalRankFusion([['a', 'b', 'c'], ['c', 'a']]);
 *   // a: 1/61 + 1/62, c: 1/63 + 1/61, b: 1/62 → [a, c, b]
 */
export interface FusedHit {
  id: string;
  score: number;
}

/** Fuses rankings (ids, best first); ties keep first appearance order. */
export function reciprocalRankFusion(rankings: readonly (readonly string[])[], k = 60): FusedHit[] {
  const scores = new Map<string, number>();
  for (const ranking of rankings) {
    ranking.forEach((id, index) => scores.set(id, (scores.get(id) ?? 0) + 1 / (k + index + 1)));
  }
  return [...scores.entries()].map(([id, score]) => ({ id, score })).sort((a, b) => b.score - a.score);
}
