/**
 * The interface tests every VectorStore passes (flat, HNSW, PostgreSQL): add and search against
 * an exact brute-force answer computed here in plain float64 loops, replace, delete, metadata
 * filters, dimension checks that leave the store unchanged, save and reopen.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VectorRecord, VectorStore } from '../../src/rag/vector-store.ts';
import { QkvStoreError } from '../../src/rag/errors.ts';
import { clusteredVectors } from './fixtures.ts';

export interface StoreFactory {
  name: string;
  create(dim: number): Promise<VectorStore>;
  /** Saves `store` into `dir`, closes it, and opens it again from there. */
  reopen(store: VectorStore, dir: string): Promise<VectorStore>;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

function bruteForce(records: VectorRecord[], query: Float32Array, k: number, keep: (r: VectorRecord) => boolean = () => true): string[] {
  return records
    .filter(keep)
    .map((record) => ({ id: record.id, score: cosine(record.vector, query) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map((hit) => hit.id);
}

function records(n: number, dim: number, seed: number): VectorRecord[] {
  return clusteredVectors(n, dim, 5, seed).map((vector, i) => ({ id: `doc-${i}`, vector, metadata: { parity: i % 2 === 0 ? 'even' : 'odd', group: i % 3 } }));
}

export function vectorStoreSuite(factory: StoreFactory): void {
  const dim = 16;

  test(`${factory.name}: search finds the brute-force top 5 with cosine scores`, async () => {
    const store = await factory.create(dim);
    try {
      const data = records(60, dim, 1);
      await store.add(data);
      assert.equal(await store.count(), 60);
      const queries = clusteredVectors(4, dim, 5, 99);
      const batched = await store.searchMany(queries, 5);
      for (const [q, query] of queries.entries()) {
        const hits = await store.search(query, 5);
        assert.deepEqual(hits.map((hit) => hit.id), bruteForce(data, query, 5), `query ${q}`);
        assert.deepEqual(batched[q].map((hit) => hit.id), hits.map((hit) => hit.id), `query ${q}, batched`);
        const expected = data.find((record) => record.id === hits[0].id)!;
        assert.ok(Math.abs(hits[0].score - cosine(expected.vector, query)) < 1e-4, `query ${q}: score ${hits[0].score}`);
        for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score - 1e-6);
      }
    } finally {
      await store.close();
    }
  });

  test(`${factory.name}: delete removes from results, add replaces`, async () => {
    const store = await factory.create(dim);
    try {
      const data = records(40, dim, 2);
      await store.add(data);
      const query = data[7].vector;
      assert.equal((await store.search(query, 1))[0].id, 'doc-7');
      assert.equal(await store.delete(['doc-7', 'no-such-id']), 1);
      assert.equal(await store.count(), 39);
      const after = await store.search(query, 10);
      assert.ok(!after.some((hit) => hit.id === 'doc-7'));
      assert.deepEqual(after.map((hit) => hit.id), bruteForce(data.filter((r) => r.id !== 'doc-7'), query, 10));
      // Replace doc-3 by a copy of doc-20's vector: a search for doc-20 now finds both at the top.
      await store.add([{ id: 'doc-3', vector: data[20].vector, metadata: { parity: 'replaced', group: 9 } }]);
      assert.equal(await store.count(), 39);
      const top = await store.search(data[20].vector, 2);
      assert.deepEqual(top.map((hit) => hit.id).sort(), ['doc-20', 'doc-3']);
      assert.equal(top.find((hit) => hit.id === 'doc-3')!.metadata.parity, 'replaced');
    } finally {
      await store.close();
    }
  });

  test(`${factory.name}: metadata filters (equality and one-of)`, async () => {
    const store = await factory.create(dim);
    try {
      const data = records(50, dim, 3);
      await store.add(data);
      const query = clusteredVectors(1, dim, 5, 7)[0];
      const odd = await store.search(query, 6, { parity: 'odd' });
      assert.deepEqual(odd.map((hit) => hit.id), bruteForce(data, query, 6, (r) => r.metadata.parity === 'odd'));
      const groups = await store.search(query, 6, { group: [0, 2], parity: 'even' });
      assert.deepEqual(groups.map((hit) => hit.id), bruteForce(data, query, 6, (r) => r.metadata.parity === 'even' && r.metadata.group !== 1));
      assert.deepEqual(await store.search(query, 3, { parity: 'none' }), []);
    } finally {
      await store.close();
    }
  });

  test(`${factory.name}: a vector of another dimension is rejected and nothing is added`, async () => {
    const store = await factory.create(dim);
    try {
      await store.add(records(5, dim, 4));
      const bad: VectorRecord[] = [...records(3, dim, 5).map((r) => ({ ...r, id: `new-${r.id}` })), { id: 'short', vector: new Float32Array(dim - 1), metadata: {} }];
      await assert.rejects(store.add(bad), (error: unknown) => error instanceof QkvStoreError && /"short".*length 15.*dim 16/.test((error as Error).message));
      assert.equal(await store.count(), 5);
      await assert.rejects(store.search(new Float32Array(dim + 1), 3), QkvStoreError);
    } finally {
      await store.close();
    }
  });

  test(`${factory.name}: save and reopen round-trips records, scores and metadata`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkv-store-'));
    let store = await factory.create(dim);
    try {
      const data = records(30, dim, 6);
      await store.add(data);
      await store.delete(['doc-4']);
      const query = clusteredVectors(1, dim, 5, 8)[0];
      const before = await store.search(query, 8);
      store = await factory.reopen(store, join(dir, 'store'));
      assert.equal(await store.count(), 29);
      const after = await store.search(query, 8);
      assert.deepEqual(after.map((hit) => hit.id), before.map((hit) => hit.id));
      assert.deepEqual(after.map((hit) => hit.metadata), before.map((hit) => hit.metadata));
      for (let i = 0; i < after.length; i++) assert.ok(Math.abs(after[i].score - before[i].score) < 1e-5);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
