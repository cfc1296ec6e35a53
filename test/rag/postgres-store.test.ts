import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresVectorStore } from '../../src/rag/postgres-store.ts';
import { QkvStoreError } from '../../src/rag/errors.ts';
import { startPgliteServer, type PgliteServer } from './fixtures.ts';
import { vectorStoreSuite } from './vector-store-suite.ts';

let server: PgliteServer;
let collections = 0;
before(async () => {
  server = await startPgliteServer();
});
after(async () => {
  await server.stop();
});

vectorStoreSuite({
  name: 'postgres (PGlite + pgvector over the wire)',
  create: async (dim) => PostgresVectorStore.connect({ url: server.url, collection: `suite_${collections++}`, dim }),
  reopen: async (store, dir) => {
    await store.save(dir);
    await store.close();
    const saved = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8'));
    assert.ok(!String(saved.url).includes('secret'), 'the password is not written to disk');
    return PostgresVectorStore.connect({ url: server.url, collection: saved.collection });
  },
});

test('postgres: the table has an HNSW index on cosine ops', async () => {
  const store = await PostgresVectorStore.connect({ url: server.url, collection: 'plan', dim: 4 });
  await store.close(); // the socket server serves one connection at a time
  {
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: server.url });
    await client.connect();
    const indexes = await client.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'qkv_rag_plan'`);
    await client.end();
    assert.ok(indexes.rows.some((row) => /USING hnsw \(embedding vector_cosine_ops\)/.test(row.indexdef)), JSON.stringify(indexes.rows));
  }
});

test('postgres: a dimension that differs from the existing table is refused by name', async () => {
  const store = await PostgresVectorStore.connect({ url: server.url, collection: 'dims', dim: 8 });
  await store.close();
  await assert.rejects(PostgresVectorStore.connect({ url: server.url, collection: 'dims', dim: 16 }), /table qkv_rag_dims: holds vectors of dim 8, but dim 16/);
});

test('postgres: a dead database URL gives a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-pg-'));
  try {
    await assert.rejects(
      PostgresVectorStore.connect({ url: 'postgres://u:hunter2@127.0.0.1:1/none', dim: 4, connectTimeoutMs: 2000 }),
      (error: unknown) => error instanceof QkvStoreError && /cannot connect to PostgreSQL/.test((error as Error).message) && !(error as Error).message.includes('hunter2'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('postgres: an index folder backed by PostgreSQL builds, updates and searches like the embedded stores', async () => {
  const { indexDocuments } = await import('../../src/rag/build-index.ts');
  const { Retriever } = await import('../../src/rag/retriever.ts');
  const { hashingEmbedder } = await import('./fixtures.ts');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const root = mkdtempSync(join(tmpdir(), 'qkv-pg-index-'));
  const embedder = hashingEmbedder(256);
  try {
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'cats.txt'), 'Cats purr and sleep most of the day. Kittens play with yarn.');
    writeFileSync(join(root, 'docs', 'ships.txt'), 'A ship sails the ocean with cargo. Sailors read the compass.');
    const options = { paths: [join(root, 'docs')], dir: join(root, 'index'), embedder, store: 'postgres' as const, storeOptions: { databaseUrl: server.url, collection: 'folder' } };
    const first = await indexDocuments(options);
    assert.equal(first.totalDocuments, 2);
    writeFileSync(join(root, 'docs', 'ships.txt'), 'A submarine dives under the ocean.');
    const second = await indexDocuments(options);
    assert.deepEqual([second.changedDocuments, second.unchangedDocuments], [1, 1]);
    // A dead database URL: a clear error, and the folder still serves the last generation.
    writeFileSync(join(root, 'docs', 'cats.txt'), 'Cats changed again.');
    await assert.rejects(indexDocuments({ ...options, storeOptions: { databaseUrl: 'postgres://u@127.0.0.1:1/x', collection: 'folder' } }), /127\.0\.0\.1:1.*cannot connect to PostgreSQL/);
    assert.equal(readFileSync(join(root, 'index', 'CURRENT'), 'utf8').trim(), second.generation);
    writeFileSync(join(root, 'docs', 'cats.txt'), 'Cats purr and sleep most of the day. Kittens play with yarn.');
    const saved = JSON.parse(readFileSync(join(root, 'index', second.generation, 'store', 'store.json'), 'utf8'));
    assert.equal(saved.table, 'qkv_rag_folder');
    const retriever = await Retriever.open(join(root, 'index'), { embedder, databaseUrl: server.url });
    let chunkCount: number;
    try {
      const [hit] = await retriever.search('submarine dives', { mode: 'dense', k: 1 });
      assert.ok(hit.chunk.source.endsWith('ships.txt') && hit.chunk.text.includes('submarine'));
      chunkCount = retriever.chunkCount;
    } finally {
      await retriever.close(); // the socket server serves one connection at a time
    }
    const store = await PostgresVectorStore.connect({ url: server.url, collection: 'folder' });
    assert.equal(await store.count(), chunkCount, 'the table holds exactly the folder\'s chunks: the old ships chunk was deleted');
    await store.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('postgres: addBulk drops the index, inserts, rebuilds it; answers equal the flat oracle; a failure rolls back', async () => {
  const { FlatVectorStore } = await import('../../src/rag/flat-store.ts');
  const { clusteredVectors } = await import('./fixtures.ts');
  const dim = 32;
  const vectors = clusteredVectors(300, dim, 6, 41);
  const records = vectors.map((vector, i) => ({ id: `v${i}`, vector, metadata: { i } }));
  const store = await PostgresVectorStore.connect({ url: server.url, collection: 'bulk', dim });
  const oracle = new FlatVectorStore({ dim });
  try {
    await store.add(records.slice(0, 50)); // rows already there, under the index
    await store.addBulk(records.slice(40), { maintenanceWorkMem: '64MB' }); // 40–49 replaced, the rest new
    await oracle.add(records);
    assert.equal(await store.count(), 300);
    let found = 0;
    const queries = clusteredVectors(10, dim, 6, 42);
    for (const query of queries) {
      const truth = new Set((await oracle.search(query, 10)).map((hit) => hit.id));
      found += (await store.search(query, 10)).filter((hit) => truth.has(hit.id)).length;
    }
    assert.ok(found / (10 * queries.length) >= 0.95, `recall@10 ${found / (10 * queries.length)} after addBulk`);
    await assert.rejects(store.addBulk(records, { maintenanceWorkMem: "1GB'; DROP TABLE x; --" }), /maintenanceWorkMem must look like '512MB'/);
    // NaN is refused by pgvector during the INSERT, after the index was dropped: all of it rolls back
    const poisoned = [{ id: 'new-1', vector: new Float32Array(dim).fill(0.1), metadata: {} }, { id: 'bad', vector: new Float32Array(dim).fill(NaN), metadata: {} }];
    await assert.rejects(store.addBulk(poisoned), /qkv_rag_bulk/);
    assert.equal(await store.count(), 300);
  } finally {
    await store.close(); // the socket server serves one connection at a time
  }
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: server.url });
  await client.connect();
  const indexes = await client.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'qkv_rag_bulk'`);
  await client.end();
  assert.ok(indexes.rows.some((row) => /USING hnsw \(embedding vector_cosine_ops\)/.test(row.indexdef)), `the index is back after the rollback: ${JSON.stringify(indexes.rows)}`);
});
