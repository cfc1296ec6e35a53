/**
 * Creating and reopening a vector store by kind, for the index builder, the retriever and the
 * CLI (`--store flat|hnsw|postgres`).
 *
 * @example
 *   const store = await createStore('hnsw', 384, { threads: 2 });
 *   const again = await openStore('runs/rag/gen-000001/store', { view: true });
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QkvFileNotFoundError, QkvFormatError } from '../io/errors.ts';
import { QkvStoreError } from './errors.ts';
import { FlatVectorStore } from './flat-store.ts';
import { HnswVectorStore } from './hnsw-store.ts';
import { PostgresVectorStore } from './postgres-store.ts';
import type { Metric, StoreKind, VectorStore } from './vector-store.ts';

export const STORE_KINDS: readonly StoreKind[] = ['flat', 'hnsw', 'postgres'];

export interface StoreOptions {
  metric?: Metric;
  /** HNSW build/search threads (≥ 2). */
  threads?: number;
  /** PostgreSQL: the URL (else `DATABASE_URL`); stored without its password, so it is needed again on reopen. */
  databaseUrl?: string;
  collection?: string;
}

function databaseUrl(options: StoreOptions): string {
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  if (url === undefined || url === '') throw new QkvStoreError('postgres store', 'needs a database URL: --database-url postgres://… or DATABASE_URL');
  return url;
}

export async function createStore(kind: StoreKind, dim: number, options: StoreOptions = {}): Promise<VectorStore> {
  switch (kind) {
    case 'flat':
      return new FlatVectorStore({ dim, metric: options.metric });
    case 'hnsw':
      return new HnswVectorStore({ dim, metric: options.metric, threads: options.threads });
    case 'postgres':
      return PostgresVectorStore.connect({ url: databaseUrl(options), collection: options.collection, dim, metric: options.metric });
    default:
      throw new QkvStoreError('store', `unknown kind ${JSON.stringify(kind)}; expected one of ${STORE_KINDS.join(', ')}`);
  }
}

/** Reopens the store saved in `dir`; `view` memory-maps an HNSW index (read-only), `writable` overrides it. */
export async function openStore(dir: string, options: StoreOptions & { view?: boolean; writable?: boolean } = {}): Promise<VectorStore> {
  const descriptorPath = join(dir, 'store.json');
  if (!existsSync(descriptorPath)) throw new QkvFileNotFoundError(descriptorPath, 'no vector store here');
  const descriptor = JSON.parse(readFileSync(descriptorPath, 'utf8')) as { kind?: string; collection?: string; dim?: number };
  switch (descriptor.kind) {
    case 'flat':
      return FlatVectorStore.load(dir);
    case 'hnsw':
      return HnswVectorStore.load(dir, { view: options.writable ? false : options.view, threads: options.threads });
    case 'postgres':
      return PostgresVectorStore.connect({ url: databaseUrl(options), collection: descriptor.collection, dim: descriptor.dim });
    default:
      throw new QkvFormatError(descriptorPath, `unknown store kind ${JSON.stringify(descriptor.kind)}`, 'kind');
  }
}
