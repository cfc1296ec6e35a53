/**
 * The on-disk layout of a retrieval index, and how it changes atomically.
 *
 *   DIR/CURRENT                    "gen-000004\n": the generation readers open
 *   DIR/gen-000004/index.json      settings, embedder, store descriptor, and per document its sha-256 and chunk ids
 *   DIR/gen-000004/chunks.jsonl    one chunk per line: id, source, start, end, text, metadata
 *   DIR/gen-000004/store/          the vector store's files (flat or HNSW; PostgreSQL keeps its rows in the database)
 *
 * A write never touches the current generation: it builds the next one beside it, then
 * atomically rewrites CURRENT (./src/io/atomic.ts: temporary file, fsync, rename), then removes
 * older generations. A write killed at any point leaves CURRENT naming a complete generation, so
 * the previous index stays readable; a half-built generation is just a folder nobody names, and
 * the next write clears it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.ts';
import { QkvFileNotFoundError, QkvFormatError } from '../io/errors.ts';
import type { Chunk } from './chunker.ts';
import type { Metric, StoreKind } from './vector-store.ts';

export const INDEX_FORMAT_VERSION = 1;

export interface IndexedDocument {
  sha256: string;
  chunkIds: string[];
}

export interface IndexManifest {
  format_version: number;
  /** The embedder every chunk vector came from; null for a BM25-only index. */
  embedder: { name: string; dim: number; model?: string } | null;
  store: { kind: StoreKind; metric: Metric; url?: string; collection?: string };
  chunking: { chunkTokens: number; overlapTokens: number };
  bm25: { k1: number; b: number };
  documents: Record<string, IndexedDocument>;
}

const GENERATION = /^gen-(\d{6})$/;

export function currentGeneration(dir: string): string | null {
  const pointer = join(dir, 'CURRENT');
  if (!existsSync(pointer)) return null;
  const name = readFileSync(pointer, 'utf8').trim();
  if (!GENERATION.test(name)) throw new QkvFormatError(pointer, `expected a generation name like gen-000001, found ${JSON.stringify(name)}`);
  return name;
}

/** Folder of the generation readers see; throws when `dir` is not an index. */
export function currentGenerationDir(dir: string): string {
  const name = currentGeneration(dir);
  if (name === null) throw new QkvFileNotFoundError(join(dir, 'CURRENT'), 'not a qkv retrieval index (run `qkv rag index PATH... --index DIR` first)');
  return join(dir, name);
}

/** A fresh, empty folder for the next generation (a leftover half-built one of that name is cleared). */
export function prepareNextGeneration(dir: string): { name: string; path: string } {
  mkdirSync(dir, { recursive: true });
  const current = currentGeneration(dir);
  const number = current === null ? 1 : Number(GENERATION.exec(current)![1]) + 1;
  const name = `gen-${String(number).padStart(6, '0')}`;
  const path = join(dir, name);
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path);
  return { name, path };
}

/** Makes `name` current (the atomic step), then removes every other generation. */
export function commitGeneration(dir: string, name: string): void {
  writeFileAtomic(join(dir, 'CURRENT'), `${name}\n`);
  for (const entry of readdirSync(dir)) {
    if (GENERATION.test(entry) && entry !== name) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

export function writeManifest(generationDir: string, manifest: IndexManifest): void {
  writeJsonAtomic(join(generationDir, 'index.json'), manifest);
}

export function readManifest(generationDir: string): IndexManifest {
  const path = join(generationDir, 'index.json');
  let manifest: IndexManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as IndexManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new QkvFileNotFoundError(path, 'missing from the index generation');
    throw new QkvFormatError(path, `not valid JSON (${(error as Error).message})`);
  }
  if (manifest.format_version !== INDEX_FORMAT_VERSION) {
    throw new QkvFormatError(path, `expected ${INDEX_FORMAT_VERSION}, found ${JSON.stringify(manifest.format_version)}`, 'format_version');
  }
  return manifest;
}

export function writeChunks(generationDir: string, chunks: Iterable<Chunk>): void {
  const lines: string[] = [];
  for (const chunk of chunks) lines.push(JSON.stringify(chunk));
  writeFileAtomic(join(generationDir, 'chunks.jsonl'), lines.length === 0 ? '' : `${lines.join('\n')}\n`);
}

export function readChunks(generationDir: string): Chunk[] {
  const path = join(generationDir, 'chunks.jsonl');
  const text = readFileSync(path, 'utf8');
  const chunks: Chunk[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.length === 0) return;
    try {
      chunks.push(JSON.parse(line) as Chunk);
    } catch {
      throw new QkvFormatError(path, 'not valid JSON', `line ${index + 1}`);
    }
  });
  return chunks;
}
