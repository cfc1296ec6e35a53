import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlatVectorStore } from '../../src/rag/flat-store.ts';
import { topK } from '../../src/rag/vector-store.ts';
import { vectorStoreSuite } from './vector-store-suite.ts';

vectorStoreSuite({
  name: 'flat',
  create: async (dim) => new FlatVectorStore({ dim }),
  reopen: async (store, dir) => {
    await store.save(dir);
    await store.close();
    return FlatVectorStore.load(dir);
  },
});

test('topK: the k largest, best first, ties to the lower index, NaN skipped, filter applied', () => {
  const scores = new Float32Array([0.5, 0.9, NaN, 0.9, 0.1, 0.7]);
  assert.deepEqual(topK(scores, 0, 6, 3), [1, 3, 5]);
  assert.deepEqual(topK(scores, 0, 6, 10), [1, 3, 5, 0, 4]);
  assert.deepEqual(topK(scores, 0, 6, 2, (i) => i !== 1), [3, 5]);
  assert.deepEqual(topK(scores, 3, 3, 2), [0, 2]); // over scores[3..6)
});

test('flat store: inner-product metric keeps vector lengths', async () => {
  const store = new FlatVectorStore({ dim: 2, metric: 'ip' });
  await store.add([
    { id: 'long', vector: new Float32Array([3, 0]), metadata: {} },
    { id: 'aligned', vector: new Float32Array([0.6, 0.8]), metadata: {} },
  ]);
  const hits = await store.search(new Float32Array([0.6, 0.8]), 2);
  assert.deepEqual(hits.map((hit) => hit.id), ['long', 'aligned']); // 1.8 > 1.0, though cosine would rank them the other way
  assert.ok(Math.abs(hits[0].score - 1.8) < 1e-6);
});
