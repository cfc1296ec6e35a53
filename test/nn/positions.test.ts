import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALiBi, RelativePositionBias, alibiSlopes, applyRotaryEmbedding, relativePositionBucket, sinusoidalPositionEncoding } from '../../src/nn/positions.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { Rng } from '../../src/tensor/random.ts';

const close = (actual: number, expected: number, tolerance: number, label: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${label}: ${actual} vs ${expected} (|diff| ${Math.abs(actual - expected)} > ${tolerance})`);

const float64 = (shape: number[], rng: Rng, requiresGrad = false) => Tensor.randn(shape, { rng, dtype: 'float64', requiresGrad });

/** Dot product of x[b, h, t, :] and y[b, h, s, :]. */
function dot(x: Tensor, y: Tensor, t: number, s: number): number {
  let total = 0;
  for (let d = 0; d < x.shape[3]; d++) total += x.get(0, 0, t, d) * y.get(0, 0, s, d);
  return total;
}

test('RoPE on a 2-D head is the rotation by p·1 radians (θ^0 = 1), computed by hand', () => {
  // hs = 2: one pair (x0, x1), inverse frequency θ^(0/2) = 1, so position p rotates by p radians.
  const x = Tensor.from([1, 0, 0.5, 2, -3, 1], [1, 1, 3, 2], { dtype: 'float64' });
  const out = applyRotaryEmbedding(x, 4); // positions 4, 5, 6
  for (let t = 0; t < 3; t++) {
    const angle = 4 + t;
    const [x0, x1] = [x.get(0, 0, t, 0), x.get(0, 0, t, 1)];
    close(out.get(0, 0, t, 0), x0 * Math.cos(angle) - x1 * Math.sin(angle), 1e-12, `t=${t} first`);
    close(out.get(0, 0, t, 1), x1 * Math.cos(angle) + x0 * Math.sin(angle), 1e-12, `t=${t} second`);
  }
});

test('RoPE pairs element i with i + hs/2 at frequency θ^(−2i/hs) (Hugging Face Llama rotate_half)', () => {
  const hs = 8;
  const theta = 500;
  const x = Tensor.arange(0, hs, 1, { dtype: 'float64' }).add(1).reshape([1, 1, 1, hs]); // [1..8] at one position
  const position = 3;
  const out = applyRotaryEmbedding(x, position, theta);
  for (let i = 0; i < hs / 2; i++) {
    const angle = position / Math.pow(theta, (2 * i) / hs);
    const [a, b] = [i + 1, i + 1 + hs / 2];
    close(out.get(0, 0, 0, i), a * Math.cos(angle) - b * Math.sin(angle), 1e-12, `element ${i}`);
    close(out.get(0, 0, 0, i + hs / 2), b * Math.cos(angle) + a * Math.sin(angle), 1e-12, `element ${i + hs / 2}`);
  }
});

test('RoPE preserves the norm of every head vector', () => {
  const x = float64([2, 3, 7, 16], new Rng(1));
  const out = applyRotaryEmbedding(x, 11);
  for (let b = 0; b < 2; b++) {
    for (let h = 0; h < 3; h++) {
      for (let t = 0; t < 7; t++) {
        let before = 0;
        let after = 0;
        for (let d = 0; d < 16; d++) {
          before += x.get(b, h, t, d) ** 2;
          after += out.get(b, h, t, d) ** 2;
        }
        close(Math.sqrt(after), Math.sqrt(before), 1e-10, `norm at (${b},${h},${t})`);
      }
    }
  }
});

test('after RoPE, q·k depends only on the relative offset between their positions', () => {
  const rng = new Rng(2);
  const q = float64([1, 1, 1, 32], rng);
  const k = float64([1, 1, 1, 32], rng);
  // The same q at position m and k at position n, for many (m, n) with n − m = offset.
  const scoreAt = (m: number, n: number) => dot(applyRotaryEmbedding(q, m), applyRotaryEmbedding(k, n), 0, 0);
  for (const offset of [-5, 0, 3, 17]) {
    const reference = scoreAt(20, 20 + offset);
    for (const m of [5, 40, 123, 999]) close(scoreAt(m, m + offset), reference, 1e-9, `offset ${offset}, m ${m}`);
  }
  assert.ok(Math.abs(scoreAt(20, 23) - scoreAt(20, 24)) > 1e-6, 'different offsets give different scores');
});

test('RoPE of a sequence at offset P equals the tail of the rotation from 0 (KV cache)', () => {
  const x = float64([1, 2, 9, 8], new Rng(3));
  const full = applyRotaryEmbedding(x, 0);
  const tail = applyRotaryEmbedding(x.narrow(2, 6, 3), 6);
  for (let h = 0; h < 2; h++) {
    for (let t = 0; t < 3; t++) for (let d = 0; d < 8; d++) close(tail.get(0, h, t, d), full.get(0, h, 6 + t, d), 1e-12, `(${h},${t},${d})`);
  }
  // float32 tables too: the cached table grown past its first size gives the same values.
  const long = applyRotaryEmbedding(Tensor.ones([1, 1, 100, 4]), 0);
  const late = applyRotaryEmbedding(Tensor.ones([1, 1, 1, 4]), 99);
  for (let d = 0; d < 4; d++) assert.equal(late.get(0, 0, 0, d), long.get(0, 0, 99, d));
});

test('RoPE gradients match finite differences', () => {
  gradcheck('rope', (x) => applyRotaryEmbedding(x, 5, 100), [float64([2, 2, 3, 6], new Rng(4), true)]);
});

test('RoPE rejects an odd head size and a negative offset', () => {
  assert.throws(() => applyRotaryEmbedding(Tensor.zeros([1, 1, 2, 5]), 0), /even head size/);
  assert.throws(() => applyRotaryEmbedding(Tensor.zeros([1, 1, 2, 4]), -1), /non-negative/);
});

test('sinusoidal encoding matches PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(…)', () => {
  const table = sinusoidalPositionEncoding(50, 6, { dtype: 'float64' });
  assert.deepEqual(table.shape, [50, 6]);
  // Worked values: d = 6, p = 1: sin(1), cos(1), sin(1/10000^(1/3)), …
  close(table.get(1, 0), Math.sin(1), 1e-15, 'PE(1,0)');
  close(table.get(1, 1), Math.cos(1), 1e-15, 'PE(1,1)');
  close(table.get(0, 1), 1, 0, 'PE(0,1) = cos 0');
  for (const p of [0, 7, 49]) {
    for (let i = 0; i < 3; i++) {
      close(table.get(p, 2 * i), Math.sin(p / Math.pow(10000, (2 * i) / 6)), 1e-12, `PE(${p},${2 * i})`);
      close(table.get(p, 2 * i + 1), Math.cos(p / Math.pow(10000, (2 * i) / 6)), 1e-12, `PE(${p},${2 * i + 1})`);
    }
  }
  // An offset continues the same table (KV cache), and an odd width ends with a sine column.
  const tail = sinusoidalPositionEncoding(3, 6, { offset: 47, dtype: 'float64' });
  for (let t = 0; t < 3; t++) for (let c = 0; c < 6; c++) assert.equal(tail.get(t, c), table.get(47 + t, c));
  close(sinusoidalPositionEncoding(3, 5).get(2, 4), Math.sin(2 / Math.pow(10000, 4 / 5)), 1e-7, 'odd width');
});

test('ALiBi slopes as in the paper: geometric 2^(−8/n)… for powers of two, interleaved otherwise', () => {
  assert.deepEqual(alibiSlopes(8), [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]);
  assert.deepEqual(alibiSlopes(4), [1 / 4, 1 / 16, 1 / 64, 1 / 256]);
  assert.deepEqual(alibiSlopes(1), [1 / 256]);
  // 6 heads: the 4-head slopes, then every other 8-head slope: 2^-1, 2^-3.
  assert.deepEqual(alibiSlopes(6), [1 / 4, 1 / 16, 1 / 64, 1 / 256, 1 / 2, 1 / 8]);
  // 12 heads: the 8-head slopes, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5 (every other of the 16-head ones).
  const twelve = alibiSlopes(12);
  assert.deepEqual(twelve.slice(0, 8), alibiSlopes(8));
  [-0.5, -1.5, -2.5, -3.5].forEach((exponent, i) => close(twelve[8 + i], 2 ** exponent, 1e-15, `slope ${8 + i}`));
});

test('ALiBi bias is −slope·(i − j), at any query offset', () => {
  const bias = new ALiBi(2, { dtype: 'float64' }).bias(2, 4, 2); // queries at positions 2, 3 over keys 0..3
  assert.deepEqual(bias.shape, [1, 2, 2, 4]);
  // head 0: slope 2^-4; query position 3: [−3, −2, −1, 0]/16
  assert.deepEqual([0, 1, 2, 3].map((j) => bias.get(0, 0, 1, j)), [-3 / 16, -2 / 16, -1 / 16, 0]);
  assert.deepEqual([0, 1, 2, 3].map((j) => bias.get(0, 1, 0, j)), [-2 / 256, -1 / 256, 0, -1 / 256]);
});

test('T5 buckets match Hugging Face _relative_position_bucket (32 buckets, max distance 128)', () => {
  // Values from the Hugging Face formula evaluated in float32 (key − query offset → bucket).
  const bidirectional: [number, number][] = [[-200, 15], [-128, 15], [-127, 15], [-64, 14], [-40, 12], [-32, 12], [-20, 10], [-16, 10],
    [-12, 9], [-8, 8], [-7, 7], [-1, 1], [0, 0], [1, 17], [7, 23], [8, 24], [20, 26], [40, 28], [128, 31]];
  for (const [offset, bucket] of bidirectional) assert.equal(relativePositionBucket(offset, true, 32, 128), bucket, `bidirectional ${offset}`);
  const causal: [number, number][] = [[-200, 31], [-128, 31], [-64, 26], [-40, 23], [-32, 21], [-20, 17], [-16, 16], [-15, 15], [-1, 1], [0, 0], [1, 0], [5, 0]];
  for (const [offset, bucket] of causal) assert.equal(relativePositionBucket(offset, false, 32, 128), bucket, `causal ${offset}`);
});

test('RelativePositionBias looks up weight[bucket(j − i), head] and learns it (gradient check)', () => {
  const relative = new RelativePositionBias(3, { bidirectional: false, numBuckets: 8, maxDistance: 20, dtype: 'float64', rng: new Rng(5), std: 1 });
  assert.deepEqual(relative.namedParameters().map(([name, p]) => [name, [...p.shape]]), [['weight', [8, 3]]]);
  const bias = relative.bias(2, 6, 4); // queries at 4, 5
  assert.deepEqual(bias.shape, [1, 3, 2, 6]);
  for (let h = 0; h < 3; h++) for (let i = 0; i < 2; i++) for (let j = 0; j < 6; j++) {
    assert.equal(bias.get(0, h, i, j), relative.weight.get(relativePositionBucket(j - (4 + i), false, 8, 20), h));
  }
  gradcheck('relative position bias', () => relative.bias(3, 5, 2), [relative.weight]);
});
