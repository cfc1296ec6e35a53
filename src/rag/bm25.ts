/**
 * BM25 (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond"), with
 * Lucene's idf, which never goes negative:
 *
 *   idf(t)      = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))
 *   score(q, d) = Σ_{t ∈ q} idf(t) · f(t,d) · (k1 + 1) / (f(t,d) + k1 · (1 − b + b · |d| / avgdl))
 *
 * N documents, n(t) of them containing t, f(t,d) the count of t in d, |d| its length in terms,
 * avgdl the mean length. k1 (default 1.2) saturates repeated terms; b (default 0.75) normalises
 * for length. A query term repeated counts once per occurrence, as in Lucene's boolean query.
 * Terms: lower-cased runs of letters and digits (./chunker.ts's word spans, lower-cased).
 *
 * The index is rebuilt from the chunk texts when an index folder opens (tens of milliseconds for
 * thousands of chunks), so it needs no file of its own.
 *
 * @example
 *   const bm25 = new Bm25Index({ k1: 1.2, b: 0.75 });
 *   bm25.add('a', 'the cat sat'); bm25.add('b', 'the dog');
 *   bm25.search('cat', 5); // [{ id: 'a', score: 0.98… }]
 */
import { QkvValueError } from '../tensor/errors.ts';

export interface Bm25Options {
  k1?: number;
  b?: number;
}

export interface Bm25Hit {
  id: string;
  score: number;
}

export function bm25Terms(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  private readonly ids: string[] = [];
  private readonly lengths: number[] = [];
  private readonly slotOf = new Map<string, number>();
  /** The distinct terms of each slot, so a delete touches only its own postings. */
  private readonly slotTerms: string[][] = [];
  /** term → (slot → count) */
  private readonly postings = new Map<string, Map<number, number>>();
  private liveCount = 0;
  private totalLength = 0;

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? 1.2;
    this.b = options.b ?? 0.75;
    if (!(this.k1 >= 0)) throw new QkvValueError(`Bm25Index: k1 must be ≥ 0, got ${this.k1}`);
    if (!(this.b >= 0 && this.b <= 1)) throw new QkvValueError(`Bm25Index: b must be in [0, 1], got ${this.b}`);
  }

  get size(): number {
    return this.liveCount;
  }

  /** Adds a document (replacing one with the same id). */
  add(id: string, text: string): void {
    this.delete(id);
    const slot = this.ids.length;
    const terms = bm25Terms(text);
    this.ids.push(id);
    this.lengths.push(terms.length);
    this.slotTerms.push([...new Set(terms)]);
    this.slotOf.set(id, slot);
    this.liveCount++;
    this.totalLength += terms.length;
    for (const term of terms) {
      let posting = this.postings.get(term);
      if (posting === undefined) this.postings.set(term, (posting = new Map()));
      posting.set(slot, (posting.get(slot) ?? 0) + 1);
    }
  }

  delete(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.slotOf.delete(id);
    this.liveCount--;
    this.totalLength -= this.lengths[slot];
    for (const term of this.slotTerms[slot]) {
      const posting = this.postings.get(term)!;
      posting.delete(slot);
      if (posting.size === 0) this.postings.delete(term);
    }
    this.slotTerms[slot] = [];
    return true;
  }

  /** Lucene's idf of `term` over the live documents. */
  idf(term: string): number {
    const n = this.postings.get(term)?.size ?? 0;
    return Math.log(1 + (this.liveCount - n + 0.5) / (n + 0.5));
  }

  /** The k best-scoring documents for `query`, best first (ties by insertion order); documents sharing no term are left out. */
  search(query: string, k: number, keep?: (id: string) => boolean): Bm25Hit[] {
    if (this.liveCount === 0) return [];
    const avgdl = this.totalLength / this.liveCount;
    const scores = new Map<number, number>();
    for (const term of bm25Terms(query)) {
      const posting = this.postings.get(term);
      if (posting === undefined) continue;
      const idf = this.idf(term);
      for (const [slot, frequency] of posting) {
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[slot]) / avgdl);
        scores.set(slot, (scores.get(slot) ?? 0) + (idf * frequency * (this.k1 + 1)) / (frequency + norm));
      }
    }
    const hits: Array<{ slot: number; score: number }> = [];
    for (const [slot, score] of scores) if (keep === undefined || keep(this.ids[slot])) hits.push({ slot, score });
    hits.sort((a, b) => b.score - a.score || a.slot - b.slot);
    return hits.slice(0, k).map(({ slot, score }) => ({ id: this.ids[slot], score }));
  }
}
