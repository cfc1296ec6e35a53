import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PairRanks } from '../../src/tokenizers/pair-ranks.ts';
import { Rng } from '../../src/tensor/random.ts';

test('PairRanks answers as a Map keyed by the pair does (collisions, duplicates keep the first rank, absent pairs)', () => {
  const rng = new Rng(7);
  const oracle = new Map<string, number>();
  const table = new PairRanks(3000);
  // Ids from a small range so pairs repeat (duplicated merges) and slots collide.
  for (let rank = 0; rank < 3000; rank++) {
    const left = rng.randint(80);
    const right = rng.randint(80);
    table.insert(left, right, rank);
    if (!oracle.has(`${left},${right}`)) oracle.set(`${left},${right}`, rank);
  }
  assert.ok(oracle.size < 3000, 'the draw has duplicated pairs');
  for (let left = 0; left < 90; left++) {
    for (let right = 0; right < 90; right++) {
      assert.equal(table.get(left, right), oracle.get(`${left},${right}`) ?? -1, `pair (${left}, ${right})`);
    }
  }
  // Large ids (a 50k vocabulary: left·V + right passes 2^31) hash like small ones.
  const big = new PairRanks(2);
  big.insert(50256, 50255, 0);
  big.insert(50255, 50256, 1);
  assert.equal(big.get(50256, 50255), 0);
  assert.equal(big.get(50255, 50256), 1);
  assert.equal(big.get(50256, 50256), -1);
});
