import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlatVectorStore } from '../../src/rag/flat-store.ts';
import { HnswVectorStore } from '../../src/rag/hnsw-store.ts';
import { QkvStoreError } from '../../src/rag/errors.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusteredVectors } from './fixtures.ts';
import { vectorStoreSuite } from './vector-store-suite.ts';

vectorStoreSuite({
  name: 'hnsw',
  create: async (dim) => new HnswVectorStore({ dim, threads: 2 }),
  reopen: async (store, dir) => {
    await store.save(dir);
    await store.close();
    return HnswVectorStore.load(dir);
  },
});

test('hnsw: recall@10 ≥ 0.95 against the flat oracle on clustered data; the memory-mapped view answers the same and is read-only', async () => {
  const dim = 32;
  const data = clusteredVectors(3000, dim, 20, 11).map((vector, i) => ({ id: `v${i}`, vector, metadata: {} }));
  const queries = clusteredVectors(50, dim, 20, 12);
  const flat = new FlatVectorStore({ dim });
  // ef 128: within a tight cluster of 150 points many neighbours nearly tie, and a graph built on
  // 2 threads differs run to run: recall measured 0.944–0.960 at the default ef 64, 0.988–0.994 at 128.
  const hnsw = new HnswVectorStore({ dim, threads: 2, expansionSearch: 128 });
  await flat.add(data);
  await hnsw.add(data);
  const exact = await flat.searchMany(queries, 10);
  const approximate = await hnsw.searchMany(queries, 10);
  let found = 0;
  for (let q = 0; q < queries.length; q++) {
    const truth = new Set(exact[q].map((hit) => hit.id));
    found += approximate[q].filter((hit) => truth.has(hit.id)).length;
  }
  const recall = found / (10 * queries.length);
  assert.ok(recall >= 0.95, `recall@10 ${recall}`);

  const dir = mkdtempSync(join(tmpdir(), 'qkv-hnsw-'));
  try {
    await hnsw.save(dir);
    const viewed = HnswVectorStore.load(dir, { view: true, threads: 2 });
    assert.deepEqual((await viewed.searchMany(queries, 10)).map((hits) => hits.map((hit) => hit.id)), approximate.map((hits) => hits.map((hit) => hit.id)));
    await assert.rejects(viewed.add(data.slice(0, 1)), QkvStoreError);
    await assert.rejects(viewed.delete(['v1']), QkvStoreError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hnsw: a small index built in one batch reaches every vector (concurrent insertion into a tiny graph used to strand some)', async () => {
  // Before the fix, about one build in five of these 60 vectors left a vector unreachable.
  for (let build = 0; build < 20; build++) {
    const store = new HnswVectorStore({ dim: 16, threads: 2 });
    try {
      await store.add(clusteredVectors(60, 16, 5, 1).map((vector, i) => ({ id: `doc-${i}`, vector, metadata: {} })));
      for (const query of clusteredVectors(4, 16, 5, 99)) {
        assert.equal((await store.search(query, 60)).length, 60, `build ${build}`);
      }
    } finally {
      await store.close();
    }
  }
});
