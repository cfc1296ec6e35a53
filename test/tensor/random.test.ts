import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, defaultRng, manualSeed } from '../../src/tensor/random.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

test('same seed gives the same stream bit for bit; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const drawsA = Array.from({ length: 100 }, () => a.uniform());
  const drawsB = Array.from({ length: 100 }, () => b.uniform());
  const drawsC = Array.from({ length: 100 }, () => c.uniform());
  assert.deepEqual(drawsA, drawsB);
  assert.notDeepEqual(drawsA, drawsC);
});

test('xoshiro128** core matches the reference algorithm written out with BigInt', () => {
  // Independent re-implementation of xoshiro128** over explicit 32-bit BigInt arithmetic.
  const rng = new Rng(5);
  let [s0, s1, s2, s3] = rng.getState().words.map(BigInt);
  const mask = 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & mask;
  for (let i = 0; i < 50; i++) {
    const expected = (rotl((s1 * 5n) & mask, 7n) * 9n) & mask;
    const t = (s1 << 9n) & mask;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl(s3, 11n);
    assert.equal(rng.nextUint32(), Number(expected), `draw ${i}`);
  }
});

test('uniform, normal and randint have the right moments', () => {
  const rng = new Rng(1);
  const n = 100_000;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    sum += u;
  }
  assert.ok(Math.abs(sum / n - 0.5) < 0.005, `uniform mean ${sum / n}`);
  sum = 0;
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    sum += z;
    sumSq += z * z;
  }
  // standard error of the mean is 1/√n ≈ 0.003; of the variance ≈ √(2/n) ≈ 0.0045
  assert.ok(Math.abs(sum / n) < 0.015, `normal mean ${sum / n}`);
  assert.ok(Math.abs(sumSq / n - 1) < 0.02, `normal variance ${sumSq / n}`);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30_000; i++) counts[rng.randint(3)]++;
  for (const count of counts) assert.ok(Math.abs(count - 10_000) < 400, `randint counts ${counts}`);
});

test('categorical draws follow the weights and never pick a zero weight', () => {
  const rng = new Rng(3);
  const weights = [0.5, 0, 1.5, 2];
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 40_000; i++) counts[rng.categorical(weights)]++;
  assert.equal(counts[1], 0);
  assert.ok(Math.abs(counts[0] / 40_000 - 0.125) < 0.01);
  assert.ok(Math.abs(counts[3] / 40_000 - 0.5) < 0.01);
  assert.throws(() => rng.categorical([0, 0]), QkvValueError);
  assert.throws(() => rng.categorical([1, NaN]), /weight 1 is NaN/);
});

test('permutation contains each index once', () => {
  const perm = Array.from(new Rng(9).permutation(50));
  assert.deepEqual([...perm].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(perm, Array.from({ length: 50 }, (_, i) => i));
});

test('getState/setState resumes the exact stream, including the cached normal', () => {
  const rng = new Rng(11);
  rng.normal(); // leaves a spare normal cached
  const state = structuredClone(rng.getState());
  const expected = [rng.normal(), rng.uniform(), rng.normal()];
  const resumed = new Rng(0);
  resumed.setState(state);
  assert.deepEqual([resumed.normal(), resumed.uniform(), resumed.normal()], expected);
});

test('manualSeed resets the default generator', () => {
  manualSeed(123);
  const first = defaultRng.uniform();
  manualSeed(123);
  assert.equal(defaultRng.uniform(), first);
});
