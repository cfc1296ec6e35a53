import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRotaryEmbedding } from '../../src/nn/positions.ts';
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
