import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retrievalMetrics } from '../../src/rag/metrics.ts';

test('retrieval metrics: a hand-worked pair of queries', () => {
  const metrics = retrievalMetrics([
    // Relevant a.txt first at rank 2 (its second chunk at 3 adds nothing).
    { relevant: ['a.txt'], retrieved: ['docs/b.txt', 'docs/a.txt', 'docs/a.txt'] },
    // Two relevant; c at rank 1, d at rank 7.
    { relevant: ['c.txt', 'd.txt'], retrieved: ['c.txt', 'x', 'x', 'x', 'x', 'x', 'd.txt'] },
  ]);
  // recall@1: (0 + 1/2)/2; recall@5: (1 + 1/2)/2; recall@10: (1 + 1)/2; MRR: (1/2 + 1)/2.
  assert.equal(metrics['recall@1'], 0.25);
  assert.equal(metrics['recall@5'], 0.75);
  assert.equal(metrics['recall@10'], 1);
  assert.equal(metrics.mrr, 0.75);
  // nDCG@10: q1 (1/log2 3) / 1; q2 (1 + 1/log2 8) / (1 + 1/log2 3) = (4/3) / 1.6309298.
  const expected = (1 / Math.log2(3) + (1 + 1 / 3) / (1 + 1 / Math.log2(3))) / 2;
  assert.ok(Math.abs(metrics['ndcg@10'] - expected) < 1e-12, String(metrics['ndcg@10']));
  assert.equal(metrics.queries, 2);
});

test('retrieval metrics: nothing retrieved scores zero, a perfect ranking scores one', () => {
  assert.deepEqual(retrievalMetrics([{ relevant: ['a'], retrieved: [] }]), { 'recall@1': 0, 'recall@5': 0, 'recall@10': 0, mrr: 0, 'ndcg@10': 0, queries: 1 });
  const perfect = retrievalMetrics([{ relevant: ['a', 'b'], retrieved: ['a', 'b'] }]);
  assert.equal(perfect['ndcg@10'], 1);
  assert.equal(perfect['recall@1'], 0.5);
  // A path that merely ends with the same letters is not a match: "xa.txt" is not "a.txt".
  assert.equal(retrievalMetrics([{ relevant: ['a.txt'], retrieved: ['docs/xa.txt'] }]).mrr, 0);
});
