import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusedAttention } from '../../../src/tensor/ops/attention.ts';
import { scaledDotProductAttention } from '../../../src/nn/attention.ts';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { Rng } from '../../../src/tensor/random.ts';

/** The composition (matmul, masks, softmax, matmul) in float64: the oracle for the fused op. */
function composed(q: Tensor, k: Tensor, v: Tensor, causal: boolean, keep: Tensor | null): Tensor {
  // returnWeights forces the composed path.
  return scaledDotProductAttention(q, k, v, { causal, keyPaddingMask: keep, returnWeights: true }).output;
}

function compare(label: string, actual: Tensor, expected: Tensor, tolerance: number): void {
  const a = actual.toArray();
  const e = expected.toArray();
  assert.equal(a.length, e.length, `${label}: sizes`);
  for (let i = 0; i < a.length; i++) {
    const error = Math.abs(a[i] - e[i]);
    assert.ok(error <= tolerance * (1 + Math.abs(e[i])), `${label}: index ${i}: fused ${a[i]} vs composed ${e[i]} (error ${error})`);
  }
}

for (const [B, NH, T, hs, causal, padded] of [
  [1, 1, 1, 4, true, false], [2, 3, 7, 5, true, false], [2, 2, 33, 8, false, true], [1, 2, 65, 16, true, true],
] as [number, number, number, number, boolean, boolean][]) {
  test(`fused attention = composition, forward and backward: B=${B} NH=${NH} T=${T} hs=${hs} causal=${causal} padding=${padded}`, () => {
    const rng = new Rng(T);
    const make = () => Tensor.randn([B, NH, T, hs], { rng });
    const [q, k, v] = [make(), make(), make()];
    const gradOut = Tensor.randn([B, NH, T, hs], { rng });
    let keep: Tensor | null = null;
    if (padded) {
      // batch 0 keeps its first T-2 keys; the last batch row has every key padded (rows must give 0, not NaN)
      const values = Array.from({ length: B * T }, (_, i) => (Math.floor(i / T) === B - 1 && B > 1 ? 0 : i % T < T - 2 ? 1 : 0));
      keep = Tensor.from(values, [B, T]);
    }
    const leaves = [q, k, v].map((t) => Tensor.from(t.toArray(), t.shape, { requiresGrad: true }));
    const out = fusedAttention(leaves[0], leaves[1], leaves[2], { causal, keyPaddingMask: keep });
    out.backward({ gradient: gradOut });

    const reference = [q, k, v].map((t) => Tensor.from(t.toArray(), t.shape, { dtype: 'float64', requiresGrad: true }));
    const expected = composed(reference[0], reference[1], reference[2], causal, keep === null ? null : keep.to('float64'));
    expected.backward({ gradient: gradOut.to('float64') });

    assert.ok(out.toArray().every(Number.isFinite));
    compare('output', out, expected, 1e-5);
    ['dq', 'dk', 'dv'].forEach((name, i) => compare(name, leaves[i].grad!, reference[i].grad!, 1e-4));
  });
}

test('scaledDotProductAttention takes the fused path only where it computes the same thing', () => {
  const rng = new Rng(1);
  const q = Tensor.randn([1, 2, 5, 4], { rng });
  const fused = scaledDotProductAttention(q, q, q, { causal: true });
  assert.equal(fused.output.gradFn, null); // no grad needed: just compare values
  const viaComposition = scaledDotProductAttention(q, q, q, { causal: true, returnWeights: true });
  compare('sdpa', fused.output, viaComposition.output, 1e-5);
  // with a KV-cache offset (Tq ≠ Tk) the composed path must be used, and still be right
  const k = Tensor.randn([1, 2, 7, 4], { rng });
  const withCache = scaledDotProductAttention(q, k, k, { causal: true });
  assert.deepEqual(withCache.output.shape, [1, 2, 5, 4]);
});
