/**
 * Scores a BERT embedder folder on the validation split (src/rag/validation-split.ts), never on
 * the eval queries: the split's documents chunked as `qkv rag index` does (128 tokens, 32
 * overlap), every chunk embedded, each validation query's 10 nearest chunks by cosine; prints
 * per-chunk recall@1/5/10 and MRR for dense and for BM25 over the same chunks, and the mean
 * number of distinct documents among dense's top 10 (crowding).
 *
 *   node --import tsx bench/rag-validation.ts --model runs/embedder [--write-docs DIR]
 *
 * Measured (load ~5): the LSA start (`qkv embed-train --steps 0` on the split's documents) dense
 * R@10 0.408, MRR 0.284, 3.10 distinct documents in the top 10; BM25 0.517 / 0.327. The LSA BERT
 * computes mean(word row), so pooling weights can be tried on its rows directly: idf-weighted
 * 0.267 (1.93 distinct), idf² 0.225, SIF a=1e-3 0.342: weighting towards rare words makes the
 * crowding into few documents worse, not better.
 *
 * `--write-docs DIR` writes the split's documents as DIR/brown-NNN.txt (to train on) and exits.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../src/io/atomic.ts';
import { loadBertEmbedder } from '../src/rag/bert-embedder.ts';
import { Bm25Index } from '../src/rag/bm25.ts';
import { chunkDocuments } from '../src/rag/chunker.ts';
import { embedInBatches } from '../src/rag/embedder.ts';
import { retrievalMetrics } from '../src/rag/metrics.ts';
import { makeValidationSplit } from '../src/rag/validation-split.ts';

const { values } = parseArgs({ options: { model: { type: 'string' }, 'write-docs': { type: 'string' }, brown: { type: 'string', default: 'data/brown.txt' } } });
const split = makeValidationSplit({ brownText: readFileSync(values.brown!, 'utf8') });
if (values['write-docs'] !== undefined) {
  mkdirSync(values['write-docs'], { recursive: true });
  for (const document of split.documents) writeFileAtomic(join(values['write-docs'], document.name), document.text);
  console.log(`${split.documents.length} documents in ${values['write-docs']}`);
  process.exit(0);
}
const chunks = chunkDocuments(split.documents.map((document) => ({ path: document.name, text: document.text, metadata: {} })));
const queries = split.queries;

const bm25 = new Bm25Index();
chunks.forEach((chunk, i) => bm25.add(String(i), chunk.text));
const bm25Ranked = queries.map((query) => ({ relevant: query.relevant, retrieved: bm25.search(query.query, 10).map((hit) => chunks[Number(hit.id)].source) }));

const started = performance.now();
const embedder = loadBertEmbedder(values.model!);
const chunkVectors = await embedInBatches(embedder, chunks.map((chunk) => chunk.text), { batchSize: 32 });
const queryVectors = await embedder.embed(queries.map((query) => query.query));
const embedSeconds = (performance.now() - started) / 1000;
let distinct = 0;
const denseRanked = queryVectors.map((q, qi) => {
  const scores = chunkVectors.map((v) => v.reduce((sum, x, i) => sum + x * q[i], 0));
  const top = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a]).slice(0, 10);
  distinct += new Set(top.map((i) => chunks[i].source)).size / queries.length;
  return { relevant: queries[qi].relevant, retrieved: top.map((i) => chunks[i].source) };
});
const show = (m: ReturnType<typeof retrievalMetrics>): string => `R@1 ${m['recall@1'].toFixed(3)} R@5 ${m['recall@5'].toFixed(3)} R@10 ${m['recall@10'].toFixed(3)} MRR ${m.mrr.toFixed(3)}`;
console.log(`validation, ${queries.length} queries, ${chunks.length} chunks (embedded in ${embedSeconds.toFixed(0)} s)`);
console.log(`  bm25   ${show(retrievalMetrics(bm25Ranked))}`);
console.log(`  dense  ${show(retrievalMetrics(denseRanked))}  distinct docs in top 10: ${distinct.toFixed(2)}`);
