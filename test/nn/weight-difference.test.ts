import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear, Sequential } from '../../src/nn/index.ts';
import { maxWeightDifference } from '../../src/nn/weight-difference.ts';
import { Rng } from '../../src/tensor/random.ts';

test('maxWeightDifference: 0 for a copy, the one changed value otherwise, errors for other shapes', () => {
  const make = (out: number) => new Sequential(new Linear(3, out, { rng: new Rng(1) }), new Linear(out, 2, { rng: new Rng(2) }));
  const a = make(4), b = make(4);
  assert.equal(maxWeightDifference(a, b), 0);
  (b.stateDict()['1.bias'].data as Float32Array)[1] += 0.25;
  assert.ok(Math.abs(maxWeightDifference(a, b) - 0.25) < 1e-6);
  assert.throws(() => maxWeightDifference(a, make(5)), /values in one model/);
  assert.throws(() => maxWeightDifference(a, new Sequential(new Linear(3, 4, { rng: new Rng(1) }))), /has no "1\.weight"/);
});
