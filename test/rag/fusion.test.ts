import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reciprocalRankFusion } from '../../src/rag/fusion.ts';

test('reciprocal-rank fusion: the worked example (k = 60)', () => {
  // a: 1/61 + 1/62 = 0.0325225; c: 1/63 + 1/61 = 0.0322665; b: 1/62 = 0.0161290; d: 1/63 = 0.0158730.
  const fused = reciprocalRankFusion([['a', 'b', 'c'], ['c', 'a', 'd']]);
  assert.deepEqual(fused.map((hit) => hit.id), ['a', 'c', 'b', 'd']);
  assert.ok(Math.abs(fused[0].score - 0.0325225) < 1e-6);
  assert.ok(Math.abs(fused[1].score - 0.0322665) < 1e-6);
  assert.ok(Math.abs(fused[2].score - 0.0161290) < 1e-6);
  assert.ok(Math.abs(fused[3].score - 0.0158730) < 1e-6);
});

test('reciprocal-rank fusion: k sets how much agreement outweighs one first place', () => {
  const rankings = [['x', 'm', 'both'], ['y', 'n', 'both']];
  assert.equal(reciprocalRankFusion(rankings, 60)[0].id, 'both'); // 2/63 = 0.0317 > 1/61 = 0.0164
  assert.equal(reciprocalRankFusion(rankings, 0)[0].id, 'x'); // 1/1 > 2/3
});
