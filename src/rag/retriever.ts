/**
 * Searching an index folder: dense (the query embedded, the vector store's nearest chunks),
 * BM25 over the chunk texts, or hybrid (reciprocal-rank fusion of the two rankings, each asked
 * for `candidates` results).
 *
 * @example
 *   const retriever = await Retriever.open('runs/rag', { embedder });
 *   const hits = await retriever.search('who won the election', { mode: 'hybrid', k: 5 });
 *   hits[0].chunk.source; hits[0].chunk.start; hits[0].chunk.end;
 *   await retriever.close();
 */
import { join } from 'node:path';
import { Bm25Index } from './bm25.ts';
import type { Chunk } from './chunker.ts';
import type { Embedder } from './embedder.ts';
import { QkvStoreError } from './errors.ts';
import { reciprocalRankFusion } from './fusion.ts';
import { currentGenerationDir, readChunks, readManifest, type IndexManifest } from './index-folder.ts';
import { matchesFilter, type MetadataFilter, type VectorStore } from './vector-store.ts';
import { openStore, type StoreOptions } from './open-store.ts';

export type SearchMode = 'dense' | 'bm25' | 'hybrid';
export const SEARCH_MODES: readonly SearchMode[] = ['dense', 'bm25', 'hybrid'];

export interface RetrievedChunk {
  chunk: Chunk;
  /** Cosine (dense), BM25 score (bm25) or fused RRF score (hybrid). */
  score: number;
}

export interface SearchOptions {
  mode?: SearchMode;
  /** Chunks returned (default 10). */
  k?: number;
  filter?: MetadataFilter;
  /** Hybrid: results taken from each ranking before fusing (default max(50, 5k); per document max(400, 40k)). */
  candidates?: number;
  /**
   * One result per source document: its best chunk (highest score; in hybrid, documents are
   * fused by their ranks in each ranking). For questions whose answer is a document, where ten
   * neighbouring chunks of one document would fill the ten slots. Applies to every mode alike.
   */
  perDocument?: boolean;
}

export interface OpenOptions extends StoreOptions {
  /** Needed for dense and hybrid search; must be the embedder the index was built with. */
  embedder?: Embedder | null;
  /** Memory-map an HNSW store instead of reading it (default true: searching never writes). */
  view?: boolean;
}

export class Retriever {
  readonly dir: string;
  readonly manifest: IndexManifest;
  private readonly chunks: Map<string, Chunk>;
  private readonly bm25: Bm25Index;
  private readonly store: VectorStore | null;
  private readonly embedder: Embedder | null;

  private constructor(dir: string, manifest: IndexManifest, chunks: Chunk[], store: VectorStore | null, embedder: Embedder | null) {
    this.dir = dir;
    this.manifest = manifest;
    this.chunks = new Map(chunks.map((chunk) => [chunk.id, chunk]));
    this.store = store;
    this.embedder = embedder;
    this.bm25 = new Bm25Index(manifest.bm25);
    for (const chunk of chunks) this.bm25.add(chunk.id, chunk.text);
  }

  static async open(dir: string, options: OpenOptions = {}): Promise<Retriever> {
    const generationDir = currentGenerationDir(dir);
    const manifest = readManifest(generationDir);
    const chunks = readChunks(generationDir);
    const embedder = options.embedder ?? null;
    if (embedder !== null && manifest.embedder !== null && (embedder.dim !== manifest.embedder.dim || embedder.name !== manifest.embedder.name)) {
      throw new QkvStoreError(`index ${dir}`, `was built with ${manifest.embedder.name} (dim ${manifest.embedder.dim}); queries cannot be embedded with ${embedder.name} (dim ${embedder.dim})`);
    }
    const store = manifest.embedder === null ? null : await openStore(join(generationDir, 'store'), { ...options, view: options.view ?? true });
    return new Retriever(dir, manifest, chunks, store, embedder);
  }

  get chunkCount(): number {
    return this.chunks.size;
  }

  chunk(id: string): Chunk | undefined {
    return this.chunks.get(id);
  }

  async search(query: string, options: SearchOptions = {}): Promise<RetrievedChunk[]> {
    return (await this.searchMany([query], options))[0];
  }

  /** `search` for many queries; dense queries are embedded and searched in one batch. */
  async searchMany(queries: readonly string[], options: SearchOptions = {}): Promise<RetrievedChunk[][]> {
    const mode = options.mode ?? (this.store === null ? 'bm25' : 'hybrid');
    const k = options.k ?? 10;
    if (!SEARCH_MODES.includes(mode)) throw new QkvStoreError(`index ${this.dir}`, `unknown search mode ${JSON.stringify(mode)}; expected ${SEARCH_MODES.join(', ')}`);
    const perDocument = options.perDocument ?? false;
    const candidates = mode === 'hybrid' || perDocument ? (options.candidates ?? (perDocument ? Math.max(400, 40 * k) : Math.max(50, 5 * k))) : k;
    const dense = mode === 'bm25' ? null : await this.denseSearch(queries, candidates, options.filter);
    const lexical = mode === 'dense' ? null : queries.map((query) => this.bm25Search(query, candidates, options.filter));
    return queries.map((_, q) => {
      const rankings = [dense?.[q], lexical?.[q]].filter((ranking) => ranking !== undefined).map((ranking) => (perDocument ? bestPerDocument(ranking) : ranking));
      if (mode !== 'hybrid') return rankings[0].slice(0, k);
      const keyOf = (hit: RetrievedChunk): string => (perDocument ? hit.chunk.source : hit.chunk.id);
      const best = new Map<string, RetrievedChunk>();
      for (const ranking of rankings) for (const hit of ranking) if (!best.has(keyOf(hit))) best.set(keyOf(hit), hit); // dense's chunk first
      const fused = reciprocalRankFusion(rankings.map((ranking) => ranking.map(keyOf)));
      return fused.slice(0, k).map((hit) => ({ chunk: best.get(hit.id)!.chunk, score: hit.score }));
    });
  }

  private async denseSearch(queries: readonly string[], k: number, filter?: MetadataFilter): Promise<RetrievedChunk[][]> {
    if (this.store === null) throw new QkvStoreError(`index ${this.dir}`, 'has no vectors (built without an embedder): use --mode bm25, or re-index with --embed-model');
    if (this.embedder === null) throw new QkvStoreError(`index ${this.dir}`, `dense search needs the embedder the index was built with (${this.manifest.embedder?.model ?? this.manifest.embedder?.name})`);
    const vectors = await this.embedder.embed(queries);
    const results = await this.store.searchMany(vectors, k, filter);
    // A chunk the store has but chunks.jsonl does not (a PostgreSQL write whose commit of the folder was killed) is skipped.
    return results.map((hits) => hits.flatMap((hit) => {
      const chunk = this.chunks.get(hit.id);
      return chunk === undefined ? [] : [{ chunk, score: hit.score }];
    }));
  }

  private bm25Search(query: string, k: number, filter?: MetadataFilter): RetrievedChunk[] {
    const keep = filter === undefined ? undefined : (id: string) => {
      const chunk = this.chunks.get(id)!;
      return matchesFilter({ ...chunk.metadata, source: chunk.source }, filter);
    };
    return this.bm25.search(query, k, keep).map((hit) => ({ chunk: this.chunks.get(hit.id)!, score: hit.score }));
  }

  async close(): Promise<void> {
    await this.store?.close();
  }
}

/** The first (best) hit of each source, in rank order. */
function bestPerDocument(ranking: readonly RetrievedChunk[]): RetrievedChunk[] {
  const seen = new Set<string>();
  return ranking.filter((hit) => !seen.has(hit.chunk.source) && seen.add(hit.chunk.source) !== undefined);
}
