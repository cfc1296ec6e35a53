/**
 * Retrieval metrics over labelled queries: a query lists its relevant source paths, the
 * retriever returns chunks, and a chunk is a hit when its source is listed. A source counts once,
 * at the rank of its first chunk (later chunks of the same document add nothing), so recall
 * cannot pass 1 and nDCG stays in [0, 1].
 *
 *   recall@k = |relevant sources among the first k chunks| / |relevant sources|
 *   MRR      = mean over queries of 1 / rank of the first hit (0 if none retrieved)
 *   nDCG@10  = Σ_{hits at rank r ≤ 10} 1 / log2(r + 1)  ÷  Σ_{r ≤ min(|relevant|, 10)} 1 / log2(r + 1)
 *
 * A listed path matches a chunk's source when equal, or when the source ends with `/` + path (so
 * `relevant: ["ca01.txt"]` matches `corpus/docs/ca01.txt` wherever the corpus was indexed from).
 *
 * @example
 *   retrievalMetrics([{ relevant: ['a.txt'], retrieved: ['b.txt', 'a.txt'] }]);
 *   // { 'recall@1': 0, 'recall@5': 1, 'recall@10': 1, mrr: 0.5, 'ndcg@10': 0.63…, queries: 1 }
 */
export interface RankedQuery {
  relevant: readonly string[];
  /** Source paths of the retrieved chunks, best first. */
  retrieved: readonly string[];
}

export interface RetrievalMetrics {
  'recall@1': number;
  'recall@5': number;
  'recall@10': number;
  mrr: number;
  'ndcg@10': number;
  queries: number;
}

export function sourceMatches(source: string, relevant: string): boolean {
  return source === relevant || source.endsWith(`/${relevant}`);
}

/** Per query: the 1-based ranks at which each relevant source first appears. */
function firstHitRanks(query: RankedQuery): number[] {
  const seen = new Set<string>();
  const ranks: number[] = [];
  query.retrieved.forEach((source, index) => {
    const relevant = query.relevant.find((path) => sourceMatches(source, path));
    if (relevant !== undefined && !seen.has(relevant)) {
      seen.add(relevant);
      ranks.push(index + 1);
    }
  });
  return ranks;
}

export function retrievalMetrics(queries: readonly RankedQuery[]): RetrievalMetrics {
  const totals = { r1: 0, r5: 0, r10: 0, mrr: 0, ndcg: 0 };
  for (const query of queries) {
    const ranks = firstHitRanks(query);
    const relevantCount = Math.max(1, query.relevant.length);
    totals.r1 += ranks.filter((rank) => rank <= 1).length / relevantCount;
    totals.r5 += ranks.filter((rank) => rank <= 5).length / relevantCount;
    totals.r10 += ranks.filter((rank) => rank <= 10).length / relevantCount;
    totals.mrr += ranks.length > 0 ? 1 / ranks[0] : 0;
    let dcg = 0;
    for (const rank of ranks) if (rank <= 10) dcg += 1 / Math.log2(rank + 1);
    let ideal = 0;
    for (let rank = 1; rank <= Math.min(query.relevant.length, 10); rank++) ideal += 1 / Math.log2(rank + 1);
    totals.ndcg += ideal > 0 ? dcg / ideal : 0;
  }
  const n = Math.max(1, queries.length);
  return { 'recall@1': totals.r1 / n, 'recall@5': totals.r5 / n, 'recall@10': totals.r10 / n, mrr: totals.mrr / n, 'ndcg@10': totals.ndcg / n, queries: queries.length };
}
