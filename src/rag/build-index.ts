/**
 * Building and updating a retrieval index folder (layout in ./index-folder.ts): load the
 * documents, skip those whose sha-256 is unchanged since the last run, re-chunk and re-embed the
 * changed and new ones, drop the chunks of changed and removed ones, and commit a new generation.
 *
 * Everything that can fail on bad input (a dimension that differs from the index's, an embedder
 * error, a database that is down) fails before the new generation is committed, so the index
 * stays as it was. A document that cannot be loaded is reported and keeps its old chunks.
 *
 * @example
 *   const report = await indexDocuments({ paths: ['docs/'], dir: 'runs/rag', embedder });
 *   report.changedDocuments; // 0 on a second run over unchanged files
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { QkvStoreError } from './errors.ts';
import { chunkDocument, CHUNK_DEFAULTS, type Chunk, type ChunkOptions } from './chunker.ts';
import { embedInBatches, type Embedder } from './embedder.ts';
import { loadDocuments, type LoadOptions, type LoadProblem } from './loaders.ts';
import {
  commitGeneration,
  currentGeneration,
  INDEX_FORMAT_VERSION,
  prepareNextGeneration,
  readChunks,
  readManifest,
  writeChunks,
  writeManifest,
  type IndexManifest,
} from './index-folder.ts';
import { createStore, openStore, type StoreOptions } from './open-store.ts';
import type { StoreKind, VectorStore } from './vector-store.ts';

export interface IndexDocumentsOptions {
  paths: readonly string[];
  /** The index folder. */
  dir: string;
  /** null (or left out): a BM25-only index with no vectors. */
  embedder?: Embedder | null;
  /** Where the embedder was loaded from, recorded in index.json. */
  embedderModel?: string;
  /** For a new index (default flat); an existing index keeps its kind and must not be asked for another. */
  store?: StoreKind;
  storeOptions?: StoreOptions;
  chunking?: Pick<ChunkOptions, 'chunkTokens' | 'overlapTokens'>;
  load?: LoadOptions;
  bm25?: { k1?: number; b?: number };
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called just before the new generation is committed (tests kill the process here). */
  beforeCommit?: (generationDir: string) => void;
}

export interface IndexReport {
  generation: string;
  newDocuments: number;
  changedDocuments: number;
  unchangedDocuments: number;
  removedDocuments: number;
  chunksAdded: number;
  chunksRemoved: number;
  totalChunks: number;
  totalDocuments: number;
  problems: LoadProblem[];
  seconds: number;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** `path` lies at or under one of the indexed paths (so a vanished file there counts as removed). */
function isUnder(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => {
    const trimmed = root.replace(/\/+$/, '');
    return path === trimmed || path.startsWith(`${trimmed}/`) || path.startsWith(`${trimmed}#`);
  });
}

export async function indexDocuments(options: IndexDocumentsOptions): Promise<IndexReport> {
  const started = performance.now();
  const embedder = options.embedder ?? null;
  const previousName = currentGeneration(options.dir);
  const previous = previousName === null ? null : readManifest(join(options.dir, previousName));
  const chunking = {
    chunkTokens: options.chunking?.chunkTokens ?? previous?.chunking.chunkTokens ?? CHUNK_DEFAULTS.chunkTokens,
    overlapTokens: options.chunking?.overlapTokens ?? previous?.chunking.overlapTokens ?? CHUNK_DEFAULTS.overlapTokens,
  };
  const bm25 = { k1: options.bm25?.k1 ?? previous?.bm25.k1 ?? 1.2, b: options.bm25?.b ?? previous?.bm25.b ?? 0.75 };
  if (previous !== null) checkCompatible(options, previous, embedder);
  const rechunkAll = previous !== null && (previous.chunking.chunkTokens !== chunking.chunkTokens || previous.chunking.overlapTokens !== chunking.overlapTokens);

  const { documents, problems } = loadDocuments(options.paths, options.load);
  const problemPaths = new Set(problems.map((problem) => problem.path.replace(/#\d+$/, '')));
  const chunks = new Map<string, Chunk>(previousName === null ? [] : readChunks(join(options.dir, previousName)).map((chunk) => [chunk.id, chunk]));
  const manifestDocuments: IndexManifest['documents'] = { ...(previous?.documents ?? {}) };
  const report = { newDocuments: 0, changedDocuments: 0, unchangedDocuments: 0, removedDocuments: 0, chunksAdded: 0, chunksRemoved: 0 };
  const staleIds: string[] = [];
  const freshChunks: Chunk[] = [];
  const seen = new Set<string>();
  for (const document of documents) {
    seen.add(document.path);
    const hash = sha256(document.text);
    const before = manifestDocuments[document.path];
    if (before !== undefined && before.sha256 === hash && !rechunkAll) {
      report.unchangedDocuments++;
      continue;
    }
    if (before === undefined) report.newDocuments++;
    else {
      report.changedDocuments++;
      staleIds.push(...before.chunkIds);
    }
    const documentChunks = chunkDocument(document, chunking);
    freshChunks.push(...documentChunks);
    manifestDocuments[document.path] = { sha256: hash, chunkIds: documentChunks.map((chunk) => chunk.id) };
  }
  for (const [path, entry] of Object.entries(manifestDocuments)) {
    if (seen.has(path) || !isUnder(path, options.paths) || problemPaths.has(path.replace(/#.*$/, ''))) continue;
    staleIds.push(...entry.chunkIds);
    delete manifestDocuments[path];
    report.removedDocuments++;
  }

  // Embed first: an embedder failure must leave the store untouched.
  const vectors = embedder === null ? [] : await embedInBatches(embedder, freshChunks.map((chunk) => chunk.text), { batchSize: options.batchSize, onProgress: options.onProgress });
  const kind = (previous?.store.kind ?? options.store ?? 'flat') as StoreKind;
  let store: VectorStore | null = null;
  try {
    if (embedder !== null) {
      store = previousName === null
        ? await createStore(kind, embedder.dim, options.storeOptions)
        : await openStore(join(options.dir, previousName, 'store'), { ...options.storeOptions, writable: true });
      await store.delete(staleIds);
      await store.add(freshChunks.map((chunk, i) => ({ id: chunk.id, vector: vectors[i], metadata: { ...chunk.metadata, source: chunk.source } })));
    }
    for (const id of staleIds) if (chunks.delete(id)) report.chunksRemoved++;
    for (const chunk of freshChunks) chunks.set(chunk.id, chunk);
    report.chunksAdded = freshChunks.length;

    const next = prepareNextGeneration(options.dir);
    if (store !== null) await store.save(join(next.path, 'store'));
    writeChunks(next.path, chunks.values());
    const manifest: IndexManifest = {
      format_version: INDEX_FORMAT_VERSION,
      embedder: embedder === null ? null : { name: embedder.name, dim: embedder.dim, ...(options.embedderModel !== undefined ? { model: options.embedderModel } : {}) },
      store: { kind, metric: store?.metric ?? 'cos', ...(kind === 'postgres' ? { collection: options.storeOptions?.collection ?? previous?.store.collection ?? 'default' } : {}) },
      chunking,
      bm25,
      documents: manifestDocuments,
    };
    writeManifest(next.path, manifest);
    options.beforeCommit?.(next.path);
    commitGeneration(options.dir, next.name);
    return { generation: next.name, ...report, totalChunks: chunks.size, totalDocuments: Object.keys(manifestDocuments).length, problems, seconds: (performance.now() - started) / 1000 };
  } finally {
    await store?.close();
  }
}

function checkCompatible(options: IndexDocumentsOptions, previous: IndexManifest, embedder: Embedder | null): void {
  const where = `index ${options.dir}`;
  if (options.store !== undefined && options.store !== previous.store.kind) {
    throw new QkvStoreError(where, `holds a ${previous.store.kind} store; cannot add to it as ${options.store} (index into a new folder)`);
  }
  if (previous.embedder === null && embedder !== null) throw new QkvStoreError(where, 'is a BM25-only index (built without an embedder); index into a new folder to add vectors');
  if (previous.embedder !== null && embedder === null) throw new QkvStoreError(where, `holds vectors from ${previous.embedder.name}; give the same embedder (--embed-model) to update it`);
  if (previous.embedder !== null && embedder !== null) {
    if (previous.embedder.dim !== embedder.dim) {
      throw new QkvStoreError(where, `holds vectors of dim ${previous.embedder.dim} from ${previous.embedder.name}, but ${embedder.name} gives dim ${embedder.dim}`);
    }
    if (previous.embedder.name !== embedder.name) {
      throw new QkvStoreError(where, `holds vectors from ${previous.embedder.name}, not ${embedder.name}: mixing two embedders' vectors makes their scores meaningless`);
    }
  }
}
