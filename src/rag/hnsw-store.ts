/**
 * Approximate nearest-neighbour search with HNSW through usearch 2.25 (a C++ library with a
 * Node binding): graph search in O(log N) per query instead of a pass over every vector.
 *
 * Keys: usearch keys are 64-bit integers, so each string id gets the next integer key; a
 * replaced record gets a fresh key (its old one is removed), so a key never names two vectors.
 *
 * Threads: usearch builds and searches on its own threads, and an index last added to on one
 * thread refuses a multi-threaded search afterwards. Concurrent insertion into a tiny graph
 * races: about one build in fifteen of 60 vectors on 2 threads leaves a vector no search can
 * reach. So an index smaller than SMALL_INDEX vectors is built and searched on one thread
 * (exact for such sizes, and cheap); from that size on, both use `threads` (at least 2).
 *
 * Filters: usearch's JavaScript binding has no filtered search, so a filtered query asks for
 * more neighbours (4k, then 4× more) until k of them match or the whole index has been seen.
 *
 * Files: `hnsw.usearch` (saved to a temporary name and renamed, so a crash leaves the old file)
 * and `store.json` (kind, dim, metric, and per key the id and metadata). `load(dir, { view:
 * true })` memory-maps the index file instead of reading it: instant to open and shared between
 * processes, but read-only (add and delete throw).
 *
 * @example
 *   const store = new HnswVectorStore({ dim: 384, threads: 2 });
 *   await store.add(records);
 *   await store.save('index/store');
 *   const viewed = HnswVectorStore.load('index/store', { view: true });
 *   const results = await viewed.searchMany(queries, 10);
 */
import { availableParallelism } from 'node:os';
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import usearch from 'usearch';
import { writeJsonAtomic } from '../io/atomic.ts';
import { QkvFileNotFoundError, QkvFormatError } from '../io/errors.ts';
import type { Metadata } from './loaders.ts';
import { l2Normalize } from './embedder.ts';
import { QkvStoreError } from './errors.ts';
import { checkDimensions, checkQuery, matchesFilter } from './vector-store.ts';
import type { MetadataFilter, Metric, SearchHit, VectorRecord, VectorStore } from './vector-store.ts';

const { Index, MetricKind, ScalarKind } = usearch;
type UsearchIndex = InstanceType<typeof Index>;

export interface HnswStoreOptions {
  dim: number;
  metric?: Metric;
  /** Threads for building and batch search; at least 2 (see the module comment). Default: the cores. */
  threads?: number;
  /** Graph degree M (default 16). */
  connectivity?: number;
  /** Candidate list while building, efConstruction (default 128). */
  expansionAdd?: number;
  /** Candidate list while searching, ef (default 64). */
  expansionSearch?: number;
}

interface Entry {
  id: string;
  metadata: Metadata;
}

const INDEX_FILE = 'hnsw.usearch';
/** Below this many vectors, add and search run on one thread (see the module comment). */
const SMALL_INDEX = 1024;

export class HnswVectorStore implements VectorStore {
  readonly kind = 'hnsw' as const;
  readonly dim: number;
  readonly metric: Metric;
  readonly threads: number;
  /** True when the index file is memory-mapped (`view`): searches only. */
  readonly readOnly: boolean;
  private readonly options: HnswStoreOptions;
  private index: UsearchIndex;
  private byKey = new Map<bigint, Entry>();
  private keyOf = new Map<string, bigint>();
  private nextKey = 0n;

  constructor(options: HnswStoreOptions, readOnly = false) {
    if (!Number.isInteger(options.dim) || options.dim < 1) throw new QkvStoreError('hnsw store', `dim must be a positive integer, got ${options.dim}`);
    this.options = options;
    this.dim = options.dim;
    this.metric = options.metric ?? 'cos';
    this.threads = Math.max(2, options.threads ?? availableParallelism());
    this.readOnly = readOnly;
    this.index = new Index({
      dimensions: this.dim,
      metric: this.metric === 'cos' ? MetricKind.Cos : MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: options.connectivity ?? 16,
      expansion_add: options.expansionAdd ?? 128,
      expansion_search: options.expansionSearch ?? 64,
      multi: false,
    });
  }

  /** Reopens a store saved with `save(dir)`; `view: true` memory-maps it read-only. */
  static load(dir: string, options: { view?: boolean; threads?: number; expansionSearch?: number } = {}): HnswVectorStore {
    const descriptorPath = join(dir, 'store.json');
    let descriptor: { kind?: unknown; dim?: unknown; metric?: unknown; connectivity?: unknown; expansionAdd?: unknown; expansionSearch?: unknown; nextKey?: unknown; keys?: unknown };
    try {
      descriptor = JSON.parse(readFileSync(descriptorPath, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new QkvFileNotFoundError(descriptorPath, 'no HNSW vector store here');
      throw new QkvFormatError(descriptorPath, `not valid JSON (${(error as Error).message})`);
    }
    if (descriptor.kind !== 'hnsw') throw new QkvFormatError(descriptorPath, `expected "hnsw", found ${JSON.stringify(descriptor.kind)}`, 'kind');
    if (descriptor.keys === null || typeof descriptor.keys !== 'object') throw new QkvFormatError(descriptorPath, 'expected an object of key → {id, metadata}', 'keys');
    const store = new HnswVectorStore(
      {
        dim: Number(descriptor.dim),
        metric: descriptor.metric === 'ip' ? 'ip' : 'cos',
        threads: options.threads,
        connectivity: Number(descriptor.connectivity ?? 16),
        expansionAdd: Number(descriptor.expansionAdd ?? 128),
        expansionSearch: options.expansionSearch ?? Number(descriptor.expansionSearch ?? 64),
      },
      options.view ?? false,
    );
    const indexPath = join(dir, INDEX_FILE);
    try {
      if (options.view) store.index.view(indexPath);
      else store.index.load(indexPath);
    } catch (error) {
      throw new QkvFormatError(indexPath, `usearch could not open the index (${(error as Error).message})`);
    }
    for (const [key, entry] of Object.entries(descriptor.keys as Record<string, Entry>)) {
      store.byKey.set(BigInt(key), entry);
      store.keyOf.set(entry.id, BigInt(key));
    }
    store.nextKey = BigInt(String(descriptor.nextKey ?? store.byKey.size));
    if (store.index.size() !== store.byKey.size) {
      throw new QkvFormatError(indexPath, `holds ${store.index.size()} vectors but store.json names ${store.byKey.size}`);
    }
    return store;
  }

  async count(): Promise<number> {
    return this.byKey.size;
  }

  async add(records: readonly VectorRecord[]): Promise<void> {
    this.checkWritable();
    checkDimensions('hnsw store', this.dim, records);
    // The last record of an id wins, as if added one by one.
    const latest = new Map<string, VectorRecord>();
    for (const record of records) latest.set(record.id, record);
    const replaced = [...latest.keys()].filter((id) => this.keyOf.has(id));
    if (replaced.length > 0) await this.delete(replaced);
    const keys = new BigUint64Array(latest.size);
    const matrix = new Float32Array(latest.size * this.dim); // (n, C)
    let row = 0;
    for (const record of latest.values()) {
      const key = this.nextKey++;
      keys[row] = key;
      matrix.set(this.metric === 'cos' ? l2Normalize(record.vector) : record.vector, row * this.dim);
      this.byKey.set(key, { id: record.id, metadata: { ...record.metadata } });
      this.keyOf.set(record.id, key);
      row++;
    }
    if (keys.length > 0) this.index.add(keys, matrix, this.threadsFor(this.byKey.size));
  }

  async delete(ids: readonly string[]): Promise<number> {
    this.checkWritable();
    let removed = 0;
    for (const id of ids) {
      const key = this.keyOf.get(id);
      if (key === undefined) continue;
      this.index.remove(key);
      this.keyOf.delete(id);
      this.byKey.delete(key);
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

  /** Threads for an add or search on an index of `size` vectors (see the module comment). */
  private threadsFor(size: number): number {
    return size < SMALL_INDEX ? 1 : this.threads;
  }

  /** The synchronous core of `searchMany`: one batched usearch call across `threads`. */
  searchManySync(queries: readonly Float32Array[], k: number, filter?: MetadataFilter): SearchHit[][] {
    for (const query of queries) checkQuery('hnsw store', this.dim, query, k);
    const size = this.byKey.size;
    if (size === 0 || queries.length === 0) return queries.map(() => []);
    const results: SearchHit[][] = queries.map(() => []);
    let pending = queries.map((_, index) => index);
    let ask = Math.min(size, filter === undefined ? k : 4 * k);
    while (pending.length > 0) {
      const matrix = new Float32Array(pending.length * this.dim); // (Q, C)
      pending.forEach((queryIndex, row) => matrix.set(this.metric === 'cos' ? l2Normalize(queries[queryIndex]) : queries[queryIndex], row * this.dim));
      // One query comes back as Matches, several as BatchMatches.
      const found = this.index.search(matrix, ask, this.threadsFor(size)) as unknown as { keys: BigUint64Array; distances: Float32Array; get?: (row: number) => { keys: BigUint64Array; distances: Float32Array } };
      const stillShort: number[] = [];
      pending.forEach((queryIndex, row) => {
        const matches = pending.length === 1 || found.get === undefined ? found : found.get(row);
        const hits: SearchHit[] = [];
        for (let i = 0; i < matches.keys.length && hits.length < k; i++) {
          const entry = this.byKey.get(matches.keys[i]);
          if (entry === undefined || !matchesFilter(entry.metadata, filter)) continue;
          // usearch returns distances: 1 − cos for Cos, 1 − ⟨q, x⟩ for IP.
          hits.push({ id: entry.id, score: 1 - matches.distances[i], metadata: { ...entry.metadata } });
        }
        results[queryIndex] = hits;
        if (hits.length < k && ask < size && filter !== undefined) stillShort.push(queryIndex);
      });
      pending = stillShort;
      ask = Math.min(size, ask * 4);
    }
    return results;
  }

  async save(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    const indexPath = join(dir, INDEX_FILE);
    const temporaryPath = join(dir, `.${INDEX_FILE}.${process.pid}.tmp`);
    try {
      this.index.save(temporaryPath);
      renameSync(temporaryPath, indexPath);
    } catch (error) {
      rmSync(temporaryPath, { force: true });
      throw error;
    }
    const keys: Record<string, Entry> = {};
    for (const [key, entry] of this.byKey) keys[key.toString()] = entry;
    writeJsonAtomic(join(dir, 'store.json'), {
      kind: 'hnsw',
      dim: this.dim,
      metric: this.metric,
      connectivity: this.options.connectivity ?? 16,
      expansionAdd: this.options.expansionAdd ?? 128,
      expansionSearch: this.options.expansionSearch ?? 64,
      nextKey: this.nextKey.toString(),
      keys,
    });
  }

  async close(): Promise<void> {}

  private checkWritable(): void {
    if (this.readOnly) throw new QkvStoreError('hnsw store', 'this index is memory-mapped read-only (view); load it without view to change it');
  }
}
