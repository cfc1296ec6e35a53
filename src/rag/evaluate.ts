/**
 * Evaluating retrieval on labelled queries: a JSONL file, one `{"query": "…", "relevant":
 * ["<source path>", …]}` per line, run through a Retriever, scored by ./metrics.ts.
 *
 * @example
 *   const queries = readLabelledQueries('data/rag-brown-queries.jsonl');
 *   const { metrics } = await evaluateRetrieval(retriever, queries, { mode: 'hybrid' });
 *   metrics['recall@10']; metrics.mrr;
 */
import { readFileSync } from 'node:fs';
import { QkvFormatError } from '../io/errors.ts';
import type { LabelledQuery } from './brown-eval.ts';
import { retrievalMetrics, type RetrievalMetrics } from './metrics.ts';
import type { Retriever, SearchMode } from './retriever.ts';

export function readLabelledQueries(path: string): LabelledQuery[] {
  const queries: LabelledQuery[] = [];
  readFileSync(path, 'utf8').split('\n').forEach((line, index) => {
    if (line.trim().length === 0) return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      throw new QkvFormatError(path, 'not valid JSON', `line ${index + 1}`);
    }
    const { query, relevant } = (record ?? {}) as { query?: unknown; relevant?: unknown };
    if (typeof query !== 'string' || !Array.isArray(relevant) || relevant.length === 0 || !relevant.every((item) => typeof item === 'string')) {
      throw new QkvFormatError(path, 'expected {"query": string, "relevant": [source paths, at least one]}', `line ${index + 1}`);
    }
    queries.push({ query, relevant: relevant as string[] });
  });
  return queries;
}

export interface RetrievalEvaluation {
  mode: SearchMode;
  k: number;
  metrics: RetrievalMetrics;
  /** Queries per second, embedding included. */
  queriesPerSecond: number;
}

export async function evaluateRetrieval(retriever: Retriever, queries: readonly LabelledQuery[], options: { mode?: SearchMode; k?: number; perDocument?: boolean } = {}): Promise<RetrievalEvaluation> {
  const k = Math.max(10, options.k ?? 10); // recall@10 and nDCG@10 need 10 results
  const mode = options.mode ?? (retriever.manifest.embedder === null ? 'bm25' : 'hybrid');
  const started = performance.now();
  const results = await retriever.searchMany(queries.map((query) => query.query), { mode, k, perDocument: options.perDocument });
  const seconds = (performance.now() - started) / 1000;
  const metrics = retrievalMetrics(queries.map((query, i) => ({ relevant: query.relevant, retrieved: results[i].map((hit) => hit.chunk.source) })));
  return { mode, k, metrics, queriesPerSecond: queries.length / Math.max(seconds, 1e-9) };
}
