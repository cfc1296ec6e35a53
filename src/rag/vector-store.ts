/**
 * One vector-store interface, three stores behind it: exact flat search on the qkv kernels
 * (./flat-store.ts, the default and the oracle), HNSW through usearch (./hnsw-store.ts) and
 * PostgreSQL + pgvector (./postgres-store.ts). The same interface tests run on all three
 * (test/rag/vector-store-suite.ts).
 *
 * Scores are similarities, higher is better: cosine for `metric: 'cos'` (vectors are compared
 * after L2 normalisation), the plain inner product for `'ip'`.
 *
 * @example
 *   const store = new FlatVectorStore({ dim: 3 });
 *   await store.add([{ id: 'a', vector: new Float32Array([1, 0, 0]), metadata: { lang: 'en' } }]);
 *   const hits = await store.search(new Float32Array([1, 0.1, 0]), 5, { lang: 'en' });
 *   await store.save('index/store'); // reopen with FlatVectorStore.load('index/store')
 */
import type { Metadata, MetadataValue } from './loaders.ts';
import { QkvStoreError } from './errors.ts';

export type Metric = 'cos' | 'ip';
export type StoreKind = 'flat' | 'hnsw' | 'postgres';

export interface VectorRecord {
  /** Unique in the store; adding an id that is there replaces it. */
  id: string;
  vector: Float32Array;
  metadata: Metadata;
}

export interface SearchHit {
  id: string;
  /** Cosine similarity (`cos`) or inner product (`ip`). */
  score: number;
  metadata: Metadata;
}

/** Every key must match: a value for equality, an array for "one of". */
export type MetadataFilter = Record<string, MetadataValue | readonly MetadataValue[]>;

export interface VectorStore {
  readonly kind: StoreKind;
  readonly dim: number;
  readonly metric: Metric;
  count(): Promise<number>;
  /** Adds or replaces records; a vector of another length than `dim` rejects the whole call, adding nothing. */
  add(records: readonly VectorRecord[]): Promise<void>;
  /** Removes these ids (unknown ones are ignored); returns how many were removed. */
  delete(ids: readonly string[]): Promise<number>;
  /** The k best records, best first, among those matching `filter`. */
  search(query: Float32Array, k: number, filter?: MetadataFilter): Promise<SearchHit[]>;
  /** `search` for several queries at once (batched on the kernels, threads in usearch). */
  searchMany(queries: readonly Float32Array[], k: number, filter?: MetadataFilter): Promise<SearchHit[][]>;
  /** Writes the store's files into `dir` (created if missing); PostgreSQL has committed already and writes a descriptor only. */
  save(dir: string): Promise<void>;
  close(): Promise<void>;
}

export function matchesFilter(metadata: Metadata, filter: MetadataFilter | undefined): boolean {
  if (filter === undefined) return true;
  for (const [key, wanted] of Object.entries(filter)) {
    const value = metadata[key];
    if (Array.isArray(wanted)) {
      if (!(wanted as readonly MetadataValue[]).includes(value)) return false;
    } else if (value !== wanted) return false;
  }
  return true;
}

/** Rejects vectors whose length is not `dim`, naming the record. */
export function checkDimensions(where: string, dim: number, records: readonly { id: string; vector: Float32Array }[]): void {
  for (const record of records) {
    if (record.vector.length !== dim) {
      throw new QkvStoreError(where, `record "${record.id}" has a vector of length ${record.vector.length}, but the store holds vectors of dim ${dim}`);
    }
  }
}

export function checkQuery(where: string, dim: number, query: Float32Array, k: number): void {
  if (query.length !== dim) throw new QkvStoreError(where, `query vector has length ${query.length}, but the store holds vectors of dim ${dim}`);
  if (!Number.isInteger(k) || k < 1) throw new QkvStoreError(where, `k must be a positive integer, got ${k}`);
}

/**
 * Indices of the k largest of `scores[offset .. offset+n)` passing `keep`, best first: a partial
 * selection by a size-k min-heap in typed arrays (one pass, O(n log k), no full sort). Once the
 * heap is full, a row that does not beat its minimum costs one comparison, so at N = 100k and
 * k = 10 the scan is ~0.2 ms, far below the matmul. Ties go to the lower index, so results are
 * deterministic; NaN scores are skipped.
 */
export function topK(scores: Float32Array, offset: number, n: number, k: number, keep?: (index: number) => boolean): number[] {
  const size = Math.min(k, n);
  const heapIndex = new Int32Array(size); // heap[0] is the worst kept: lowest score, higher index on ties
  const heapScore = new Float64Array(size);
  let filled = 0;
  const worse = (a: number, b: number): boolean => heapScore[a] < heapScore[b] || (heapScore[a] === heapScore[b] && heapIndex[a] > heapIndex[b]);
  const swap = (a: number, b: number): void => {
    const index = heapIndex[a];
    heapIndex[a] = heapIndex[b];
    heapIndex[b] = index;
    const score = heapScore[a];
    heapScore[a] = heapScore[b];
    heapScore[b] = score;
  };
  let i = 0;
  // Filling: the first `size` rows that pass, sifted up.
  for (; i < n && filled < size; i++) {
    const score = scores[offset + i];
    if (score !== score || (keep !== undefined && !keep(i))) continue; // NaN or filtered out
    heapIndex[filled] = i;
    heapScore[filled] = score;
    for (let c = filled++; c > 0; ) {
      const parent = (c - 1) >> 1;
      if (!worse(c, parent)) break;
      swap(c, parent);
      c = parent;
    }
  }
  // Scanning: a later row enters only by beating the minimum (an equal score keeps the earlier index).
  let threshold = filled > 0 ? heapScore[0] : Infinity;
  for (; i < n; i++) {
    const score = scores[offset + i];
    if (!(score > threshold)) continue; // also skips NaN
    if (keep !== undefined && !keep(i)) continue;
    heapIndex[0] = i;
    heapScore[0] = score;
    for (let p = 0; ; ) {
      const left = 2 * p + 1;
      const right = left + 1;
      let smallest = p;
      if (left < size && worse(left, smallest)) smallest = left;
      if (right < size && worse(right, smallest)) smallest = right;
      if (smallest === p) break;
      swap(p, smallest);
      p = smallest;
    }
    threshold = heapScore[0];
  }
  const order = Array.from({ length: filled }, (_, slot) => ({ index: heapIndex[slot], score: heapScore[slot] }));
  order.sort((a, b) => b.score - a.score || a.index - b.index);
  return order.map((entry) => entry.index);
}
