/**
 * Exact nearest-neighbour search: every query is scored against every vector by one matmul on
 * the qkv kernels (scores (Q, N) = queries (Q, C) · vectorsᵀ (C, N); the native backend reads
 * the resident rows in place, zero copy, split across its threads), then a partial top-k
 * selection per query. The default store for small collections, and the oracle the approximate
 * stores are tested against.
 *
 * One query reads all N·C floats once (154 MB at 100k × 384), so it is bound by memory
 * bandwidth, not arithmetic: `searchMany` scores up to 64 queries in one pass over the rows.
 * Up to 4 queries at a time go through the Q8_0 pre-filter instead (./flat-prefilter.ts, when C is
 * a multiple of 32 and the native quantised kernel is there): approximate scores from a Q8_0 copy
 * of the rows (41 MB at 100k × 384, ./flat-q8.ts) with a rigorous error bound, then the f32 score
 * of the few rows the bound cannot rule out. The answer is the f32 path's, ids, order and scores.
 *
 * Rows live packed in one growable Float32Array (N, C); delete moves the last row into the hole,
 * so the array stays dense and the matmul never skips. With `cos`, vectors and queries are
 * L2-normalised on the way in, so the inner product is the cosine.
 *
 * Files in the store's folder: `vectors.safetensors` (tensor `vectors`, F32 (N, C)) and
 * `store.json` (kind, dim, metric, ids and metadata in row order), each written atomically.
 *
 * Legend: Q = queries, N = stored vectors, C = dimension.
 *
 * @example
 *   const store = new FlatVectorStore({ dim: 384 });
 *   await store.add(records);
 *   const [hits] = await store.searchMany([query], 10);
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { matmul } from '../kernels/index.ts';
import { nativeQmatmul } from '../compress/qmatmul-native.ts';
import { writeJsonAtomic } from '../io/atomic.ts';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.ts';
import { QkvFileNotFoundError, QkvFormatError } from '../io/errors.ts';
import type { Metadata } from './loaders.ts';
import { l2Normalize } from './embedder.ts';
import { QkvStoreError } from './errors.ts';
import { QuantizedRows } from './flat-q8.ts';
import { prefilterSearch } from './flat-prefilter.ts';
import { checkDimensions, checkQuery, matchesFilter, topK } from './vector-store.ts';
import type { MetadataFilter, Metric, SearchHit, VectorRecord, VectorStore } from './vector-store.ts';

export interface FlatStoreOptions {
  dim: number;
  metric?: Metric;
  /**
   * The Q8_0 pre-filter for calls of up to 4 queries (default on). `minRows` (default 4096):
   * below it the f32 rows sit in cache and one pass is as quick. `afterQueries` (default 16):
   * after a change to more than 1/64 of the rows, that many queries run on the f32 path before the
   * copy is (re)built, so a one-shot search (open, query, exit) never pays for quantising
   * (~0.3–0.9 s at 100k × 384, the time of ~50–100 f32 queries); `warmUp()` builds it at once.
   * `false` keeps the plain f32 pass.
   */
  prefilter?: boolean | { minRows?: number; afterQueries?: number };
}

/** How the last `searchManySync` call ran (for benchmarks and tests). */
export interface FlatSearchStats {
  /** Queries answered by the pre-filter, and by the plain f32 pass. */
  prefiltered: number;
  plain: number;
  /** Rows re-scored in f32 by the pre-filter, summed over its queries. */
  candidates: number;
}

const PREFILTER_MIN_ROWS = 4096;
const PREFILTER_AFTER_QUERIES = 16;
/** Up to this many queries a call, the f32 path is a matrix-vector product per query (each reads all rows). */
const PREFILTER_MAX_QUERIES = 4;

/** Queries scored per matmul: the (Q, N) score block stays within ~64 MB at N = 250k. */
const QUERY_BLOCK = 64;

export class FlatVectorStore implements VectorStore {
  readonly kind = 'flat' as const;
  readonly dim: number;
  readonly metric: Metric;
  private data: Float32Array; // (capacity, C), rows [0, ids.length) in use
  private ids: string[] = [];
  private metadata: Metadata[] = [];
  private rowOf = new Map<string, number>();
  private buffers = { packed: new Float32Array(0), scores: new Float32Array(0) };
  /** The Q8_0 copy of the rows (null when C % 32 ≠ 0 or the pre-filter is off). */
  private quantized: QuantizedRows | null;
  private readonly prefilterMinRows: number;
  private readonly prefilterAfterQueries: number;
  /** Queries served on the f32 path while many rows wait to be quantised. */
  private queriesWhileStale = 0;
  lastSearch: FlatSearchStats = { prefiltered: 0, plain: 0, candidates: 0 };

  constructor(options: FlatStoreOptions) {
    if (!Number.isInteger(options.dim) || options.dim < 1) throw new QkvStoreError('flat store', `dim must be a positive integer, got ${options.dim}`);
    this.dim = options.dim;
    this.metric = options.metric ?? 'cos';
    this.data = new Float32Array(16 * this.dim);
    const prefilter = options.prefilter ?? true;
    this.quantized = prefilter !== false && this.dim % 32 === 0 ? new QuantizedRows(this.dim) : null;
    this.prefilterMinRows = (typeof prefilter === 'object' ? prefilter.minRows : undefined) ?? PREFILTER_MIN_ROWS;
    this.prefilterAfterQueries = (typeof prefilter === 'object' ? prefilter.afterQueries : undefined) ?? PREFILTER_AFTER_QUERIES;
  }

  /** Reopens a store saved with `save(dir)`; `options.prefilter` as for the constructor. */
  static load(dir: string, options: Pick<FlatStoreOptions, 'prefilter'> = {}): FlatVectorStore {
    const descriptorPath = join(dir, 'store.json');
    let descriptor: { kind?: unknown; dim?: unknown; metric?: unknown; ids?: unknown; metadata?: unknown };
    try {
      descriptor = JSON.parse(readFileSync(descriptorPath, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new QkvFileNotFoundError(descriptorPath, 'no flat vector store here');
      throw new QkvFormatError(descriptorPath, `not valid JSON (${(error as Error).message})`);
    }
    if (descriptor.kind !== 'flat') throw new QkvFormatError(descriptorPath, `expected "flat", found ${JSON.stringify(descriptor.kind)}`, 'kind');
    const ids = descriptor.ids;
    const metadata = descriptor.metadata;
    if (!Array.isArray(ids) || !Array.isArray(metadata) || ids.length !== metadata.length) {
      throw new QkvFormatError(descriptorPath, 'expected arrays "ids" and "metadata" of equal length');
    }
    const store = new FlatVectorStore({ dim: Number(descriptor.dim), metric: descriptor.metric === 'ip' ? 'ip' : 'cos', prefilter: options.prefilter });
    const vectorsPath = join(dir, 'vectors.safetensors');
    const entry = loadSafetensors(vectorsPath).tensors.get('vectors');
    if (entry === undefined || entry.dtype !== 'F32') throw new QkvFormatError(vectorsPath, 'expected an F32 tensor', 'tensor "vectors"');
    if (entry.shape[0] !== ids.length || (ids.length > 0 && entry.shape[1] !== store.dim)) {
      throw new QkvFormatError(vectorsPath, `shape (${entry.shape.join(',')}) does not fit ${ids.length} ids of dim ${store.dim} in store.json`, 'tensor "vectors"');
    }
    store.data = Float32Array.from(entry.data as Float32Array);
    store.ids = ids.map(String);
    store.metadata = metadata as Metadata[];
    store.ids.forEach((id, row) => store.rowOf.set(id, row));
    for (let row = 0; row < store.ids.length; row++) store.quantized?.markStale(row); // quantised on the first search
    return store;
  }

  async count(): Promise<number> {
    return this.ids.length;
  }

  async add(records: readonly VectorRecord[]): Promise<void> {
    checkDimensions('flat store', this.dim, records);
    const C = this.dim;
    for (const record of records) {
      const vector = this.metric === 'cos' ? l2Normalize(record.vector) : record.vector;
      let row = this.rowOf.get(record.id);
      if (row === undefined) {
        row = this.ids.length;
        this.ensureCapacity(row + 1);
        this.ids.push(record.id);
        this.metadata.push({ ...record.metadata });
        this.rowOf.set(record.id, row);
      } else {
        this.metadata[row] = { ...record.metadata };
      }
      this.data.set(vector, row * C);
      this.quantized?.markStale(row);
    }
  }

  async delete(ids: readonly string[]): Promise<number> {
    const C = this.dim;
    let removed = 0;
    for (const id of ids) {
      const row = this.rowOf.get(id);
      if (row === undefined) continue;
      const last = this.ids.length - 1;
      if (row !== last) {
        this.data.copyWithin(row * C, last * C, (last + 1) * C);
        this.ids[row] = this.ids[last];
        this.metadata[row] = this.metadata[last];
        this.rowOf.set(this.ids[row], row);
        this.quantized?.moveRow(last, row);
      } else {
        this.quantized?.dropRow(last);
      }
      this.ids.pop();
      this.metadata.pop();
      this.rowOf.delete(id);
      removed++;
    }
    return removed;
  }

  async search(query: Float32Array, k: number, filter?: MetadataFilter): Promise<SearchHit[]> {
    return (await this.searchMany([query], k, filter))[0];
  }

  async searchMany(queries: readonly Float32Array[], k: number, filter?: MetadataFilter): Promise<SearchHit[][]> {
    return this.searchManySync(queries, k, filter);
  }

  /** The synchronous core of `searchMany` (the bench times it without the promise). */
  searchManySync(queries: readonly Float32Array[], k: number, filter?: MetadataFilter): SearchHit[][] {
    for (const query of queries) checkQuery('flat store', this.dim, query, k);
    const N = this.ids.length;
    const C = this.dim;
    this.lastSearch = { prefiltered: 0, plain: 0, candidates: 0 };
    if (N === 0) return queries.map(() => []);
    const keep = filter === undefined ? undefined : (row: number) => matchesFilter(this.metadata[row], filter);
    const vectors = this.data.subarray(0, N * C); // (N, C), resident: the kernel reads it in place
    const hit = (row: number, score: number): SearchHit => ({ id: this.ids[row], score, metadata: { ...this.metadata[row] } });
    const qmatmul = this.quantized !== null && N >= this.prefilterMinRows && queries.length <= PREFILTER_MAX_QUERIES ? nativeQmatmul() : null;
    if (qmatmul !== null && this.quantized!.staleRows > N / 64 && this.queriesWhileStale < this.prefilterAfterQueries) {
      this.queriesWhileStale += queries.length; // not worth quantising yet (see `prefilter.afterQueries`)
    } else if (qmatmul !== null) {
      this.warmUp();
      const query = this.scratch('packed', C);
      const approximate = this.scratch('scores', N);
      const answered: (SearchHit[] | null)[] = queries.map((raw) => {
        query.set(raw);
        if (this.metric === 'cos') normalizeInPlace(query, 0, C);
        const found = prefilterSearch({ query, vectors, rows: this.quantized!, N, k, keep, qmatmul, approximate });
        if (found === null) return null;
        this.lastSearch.prefiltered++;
        this.lastSearch.candidates += found.candidates;
        return found.rows.map((row, i) => hit(row, found.scores[i]));
      });
      // The queries it stepped aside for take the plain path below, one at a time (as Q ≤ 4 does).
      return answered.map((hits, q) => hits ?? this.plainSearch([queries[q]], k, keep, vectors)[0]);
    }
    return this.plainSearch(queries, k, keep, vectors);
  }

  /**
   * Builds the Q8_0 copy of the rows now (a no-op when it is current, or off), rather than after
   * `prefilter.afterQueries` searches: for a store about to serve many queries.
   */
  warmUp(): void {
    this.quantized?.refresh(this.data, this.ids.length);
    this.queriesWhileStale = 0;
  }

  /** The f32 path: every row scored by one matmul per block of queries, then `topK`. */
  private plainSearch(queries: readonly Float32Array[], k: number, keep: ((row: number) => boolean) | undefined, vectors: Float32Array): SearchHit[][] {
    const N = this.ids.length;
    const C = this.dim;
    const results: SearchHit[][] = [];
    this.lastSearch.plain += queries.length;
    for (let block = 0; block < queries.length; block += QUERY_BLOCK) {
      const Q = Math.min(QUERY_BLOCK, queries.length - block);
      const packed = this.scratch('packed', Q * C); // (Q, C)
      for (let q = 0; q < Q; q++) {
        const query = queries[block + q];
        packed.set(query, q * C);
        if (this.metric === 'cos') normalizeInPlace(packed, q * C, C);
      }
      // (Q, N) = (Q, C) · (N, C)ᵀ. Q ≤ 4 runs as matrix-vector products straight over the rows
      // (no packing), split by rows across the kernel threads; more queries share one sgemm pass.
      const scores = this.scratch('scores', Q * N);
      matmul(packed, vectors, scores, { batch: 1, m: Q, n: N, k: C, transB: true });
      for (let q = 0; q < Q; q++) {
        const rows = topK(scores, q * N, N, k, keep);
        results.push(rows.map((row) => ({ id: this.ids[row], score: scores[q * N + row], metadata: { ...this.metadata[row] } })));
      }
    }
    return results;
  }

  /**
   * A reused buffer of exactly `length` floats (a view of a larger one): allocating and zeroing
   * 400 kB of scores per query would cost as much as the top-k scan.
   */
  private scratch(kind: 'packed' | 'scores', length: number): Float32Array {
    let buffer = this.buffers[kind];
    if (buffer.length < length) {
      buffer = new Float32Array(Math.max(length, 2 * buffer.length));
      this.buffers[kind] = buffer;
    }
    return buffer.subarray(0, length);
  }

  /** The stored (normalised, for `cos`) vector of `id`, or undefined. */
  vectorOf(id: string): Float32Array | undefined {
    const row = this.rowOf.get(id);
    return row === undefined ? undefined : this.data.slice(row * this.dim, (row + 1) * this.dim);
  }

  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const N = this.ids.length;
    saveSafetensors(join(dir, 'vectors.safetensors'), { vectors: { dtype: 'F32', shape: [N, this.dim], data: this.data.subarray(0, N * this.dim) } });
    writeJsonAtomic(join(dir, 'store.json'), { kind: 'flat', dim: this.dim, metric: this.metric, ids: this.ids, metadata: this.metadata });
  }

  async close(): Promise<void> {}

  private ensureCapacity(rows: number): void {
    if (rows * this.dim <= this.data.length) return;
    const grown = new Float32Array(Math.max(rows, 2 * (this.data.length / this.dim)) * this.dim);
    grown.set(this.data);
    this.data = grown;
  }
}

/** x[offset .. offset+n) /= ‖x[offset .. offset+n)‖ (the zero vector stays zero), as `l2Normalize` without the copy. */
function normalizeInPlace(x: Float32Array, offset: number, n: number): void {
  let norm = 0;
  for (let i = offset; i < offset + n; i++) norm += x[i] * x[i];
  if (norm === 0) return;
  const scale = 1 / Math.sqrt(norm);
  for (let i = offset; i < offset + n; i++) x[i] *= scale;
}
