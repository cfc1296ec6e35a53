/**
 * Training pairs shaped like the retrieval eval (./brown-eval.ts) and the index (./chunker.ts):
 * one sentence of a document is taken out, rewritten into a pseudo-query the way the eval
 * rewrites its held-out sentences (rewriteSentenceAsQuery: content words, at most 40% of them
 * found elsewhere in the document, shuffled), and the document without that sentence is chunked
 * as `qkv rag index` chunks it (same options). The positive is the chunk that holds the gap the
 * sentence left: what the eval counts as a hit, shaped as the index stores it. Sentence-vs-
 * sentence pairs (./contrastive.ts) train on texts a fifth of a chunk's length.
 *
 * Measured on the validation split (bench/rag-validation.ts, dense per chunk recall@10; LSA start
 * 0.408, BM25 0.517): training the LSA BERT's word table on these pairs (an exact bag-of-rows
 * trainer, tried and not kept; 64 anchors, in-batch +
 * 4 dense-mined negatives from other documents, τ 0.05) gave 0.350 after 400 steps at lr 0.02,
 * 0.408 at lr 0.002 (300 steps), 0.392 with 256 in-batch negatives and none mined; a global C×C
 * map on top, trained on LSA made without the pairs' sentences (so anchors, like eval queries,
 * carry no trace of their document), started lower (0.300) and fell (0.283). A likely reason
 * (not proven): such training learns which documents an anchor's words occur in, and most of the
 * eval's query words by construction do not occur in theirs.
 *
 * @example
 *   const pairs = chunkShapedPairs([{ name: 'a.txt', text }], { perDocument: 20, seed: 0 });
 *   pairs[0]; // { anchor: 'verdict jurors …', positive: '<the chunk around the gap>', source: 'a.txt' }
 */
import { Rng } from '../tensor/random.ts';
import { bm25Terms } from './bm25.ts';
import { rewriteSentenceAsQuery } from './brown-eval.ts';
import { chunkDocument, type ChunkOptions } from './chunker.ts';

export interface ChunkShapedPair {
  anchor: string;
  /** The sentence the anchor was made from (exactly as in the document). */
  sentence: string;
  /** The chunk of the document (sentence removed) that covers where the sentence was. */
  positive: string;
  /** The document's name: the anchor's other chunks are not negatives for it. */
  source: string;
}

export interface ChunkShapedPairOptions {
  /** Pairs made per document (default 20; fewer when it has fewer usable sentences). */
  perDocument?: number;
  /** As given to `qkv rag index` (default its defaults). */
  chunking?: Pick<ChunkOptions, 'chunkTokens' | 'overlapTokens'>;
  seed?: number;
}

/** Sentence spans of a document: `.`, `!` or `?` (then closing quotes/brackets) ends one, as do blank lines. */
function sentenceSpans(text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (const match of text.matchAll(/[^\s][^]*?(?:[.!?]["')\]]?(?=\s|$)|(?=\n\s*\n)|$)/g)) {
    if (match[0].trim().length > 0) spans.push([match.index, match.index + match[0].length]);
  }
  return spans;
}

export function chunkShapedPairs(documents: ReadonlyArray<{ name: string; text: string }>, options: ChunkShapedPairOptions = {}): ChunkShapedPair[] {
  const perDocument = options.perDocument ?? 20;
  const rng = new Rng(options.seed ?? 0);
  const pairs: ChunkShapedPair[] = [];
  for (const document of documents) {
    const spans = sentenceSpans(document.text);
    const terms = spans.map(([start, end]) => bm25Terms(document.text.slice(start, end)));
    const candidates = Array.from(rng.permutation(spans.length)).filter((i) => terms[i].length >= 8);
    let made = 0;
    for (const index of candidates) {
      if (made >= perDocument) break;
      const rest = new Set(terms.filter((_, i) => i !== index).flat());
      const [start, end] = spans[index];
      const rewritten = rewriteSentenceAsQuery(document.text.slice(start, end), rest, rng);
      if (rewritten === null) continue;
      // The eval removes its sentence before indexing; the gap is where the sentence started.
      const without = document.text.slice(0, start) + document.text.slice(end).replace(/^ +/, '');
      const chunks = chunkDocument({ path: document.name, text: without, metadata: {} }, options.chunking);
      const holder = chunks.find((chunk) => chunk.start <= start && start < chunk.end) ?? chunks[chunks.length - 1];
      if (holder === undefined) continue;
      pairs.push({ anchor: rewritten.words.join(' '), sentence: document.text.slice(start, end), positive: holder.text, source: document.name });
      made++;
    }
  }
  return pairs;
}
