import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultiHeadAttention, attendHeads, type LayerCache, type MultiHeadAttentionOptions } from '../../src/nn/multi-head-attention.ts';
import { scaledDotProductAttention } from '../../src/nn/attention.ts';
import { ALiBi, RelativePositionBias } from '../../src/nn/positions.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { concat } from '../../src/tensor/ops/shape.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { Rng } from '../../src/tensor/random.ts';

/** Asserts equal shapes and |a − b| ≤ tolerance everywhere; names the first differing index. */
function assertClose(actual: Tensor, expected: Tensor, tolerance: number, label: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${label}: shapes`);
  const a = actual.toArray();
  const b = expected.toArray();
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tolerance, `${label}: element ${i} is ${a[i]}, expected ${b[i]} (|diff| ${Math.abs(a[i] - b[i])} > ${tolerance})`);
  }
}

const randn = (shape: number[], seed: number) => Tensor.randn(shape, { rng: new Rng(seed), dtype: 'float64' });
const module = (options: Partial<MultiHeadAttentionOptions>, seed = 1) =>
  new MultiHeadAttention({ embedDim: 8, numHeads: 4, rng: new Rng(seed), dtype: 'float64', ...options });

/** (B, T, NH·hs) → (B, NH, T, hs) */
const heads = (x: Tensor, NH: number) => x.reshape([x.shape[0], x.shape[1], NH, x.shape[2] / NH]).transpose(1, 2);

test('parameter names: separate q/k/v/o projections (Llama names), or one fused qkv_proj', () => {
  const names = (m: MultiHeadAttention) => m.namedParameters().map(([name, p]) => `${name}:${p.shape.join('x')}`);
  assert.deepEqual(names(module({ numKeyValueHeads: 2, bias: false })), ['q_proj.weight:8x8', 'k_proj.weight:4x8', 'v_proj.weight:4x8', 'o_proj.weight:8x8']);
  assert.deepEqual(names(module({ fusedProjection: true })), ['qkv_proj.weight:24x8', 'qkv_proj.bias:24', 'o_proj.weight:8x8', 'o_proj.bias:8']);
  const relative = new RelativePositionBias(4);
  assert.ok(names(module({ positionBias: relative })).includes('position_bias.weight:32x4'));
});

test('the module is projections around scaledDotProductAttention; per-head weights on request', () => {
  const attention = module({});
  const x = randn([2, 5, 8], 2);
  const y = attention.forward(x, { returnWeights: true });
  const q = heads(attention.q_proj!.forward(x), 4);
  const k = heads(attention.k_proj!.forward(x), 4);
  const v = heads(attention.v_proj!.forward(x), 4);
  const { output, weights } = scaledDotProductAttention(q, k, v, { returnWeights: true });
  assertClose(y, attention.o_proj.forward(output.transpose(1, 2).reshape([2, 5, 8])), 1e-12, 'output');
  assertClose(attention.attentionWeights!, weights!, 1e-12, 'weights (B, NH, T, T)');
  // Unscaled: the same with scale 1.
  const unscaled = module({ scaled: false });
  unscaled.forward(x, { returnWeights: true });
  const raw = scaledDotProductAttention(heads(unscaled.q_proj!.forward(x), 4), heads(unscaled.k_proj!.forward(x), 4), heads(unscaled.v_proj!.forward(x), 4), { scale: 1, returnWeights: true });
  assertClose(unscaled.attentionWeights!, raw.weights!, 1e-12, 'unscaled weights');
});

test('a fused qkv projection equals separate projections with the same weights', () => {
  const separate = module({});
  const fused = module({ fusedProjection: true });
  noGrad(() => {
    fused.qkv_proj!.weight.data.set(concat([separate.q_proj!.weight, separate.k_proj!.weight, separate.v_proj!.weight], 0).data);
    fused.qkv_proj!.bias!.data.set(concat([separate.q_proj!.bias!, separate.k_proj!.bias!, separate.v_proj!.bias!], 0).data);
    fused.o_proj.weight.data.set(separate.o_proj.weight.data);
    fused.o_proj.bias!.data.set(separate.o_proj.bias!.data);
  });
  const x = randn([2, 4, 8], 3);
  assertClose(fused.forward(x), separate.forward(x), 1e-12, 'fused vs separate');
});

test('causal: changing a later input does not change earlier outputs', () => {
  for (const options of [{}, { rotaryTheta: 10000 }, { positionBias: new ALiBi(4) }, { numKeyValueHeads: 1 }]) {
    const attention = module({ causal: true, ...options });
    const x = randn([1, 6, 8], 4);
    const changed = x.contiguousCopy();
    for (let c = 0; c < 8; c++) changed.data[4 * 8 + c] += 1;
    const a = attention.forward(x);
    const b = attention.forward(changed);
    for (let t = 0; t < 4; t++) for (let c = 0; c < 8; c++) assert.equal(a.get(0, t, c), b.get(0, t, c), `${JSON.stringify(Object.keys(options))} (${t},${c})`);
    assert.notEqual(a.get(0, 4, 0), b.get(0, 4, 0));
  }
});

test('cross-attention: Tq ≠ Tk, keys/values from a context of another width, with padding', () => {
  const attention = module({ keyValueDim: 6 });
  const x = randn([2, 3, 8], 5); // decoder (B, Tq = 3, C)
  const context = randn([2, 7, 6], 6); // encoder (B, Tk = 7, 6)
  const keep = Tensor.from([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]], undefined, { dtype: 'float64' });
  const y = attention.forward(x, { context, keyPaddingMask: keep, returnWeights: true });
  assert.deepEqual(y.shape, [2, 3, 8]);
  assert.deepEqual(attention.attentionWeights!.shape, [2, 4, 3, 7]);
  const { output } = scaledDotProductAttention(heads(attention.q_proj!.forward(x), 4), heads(attention.k_proj!.forward(context), 4),
    heads(attention.v_proj!.forward(context), 4), { keyPaddingMask: keep });
  assertClose(y, attention.o_proj.forward(output.transpose(1, 2).reshape([2, 3, 8])), 1e-12, 'cross-attention');
  for (let h = 0; h < 4; h++) for (let i = 0; i < 3; i++) assert.equal(attention.attentionWeights!.get(0, h, i, 5), 0);
  // A cache keeps the context's keys/values: a second call without recomputing them agrees.
  const cache: LayerCache = { keys: null, values: null };
  const first = attention.forward(x.narrow(1, 0, 2), { context, cache });
  const second = attention.forward(x.narrow(1, 2, 1), { context: Tensor.zeros([2, 7, 6]), cache }); // ignored: cached
  assertClose(concat([first, second], 1), attention.forward(x, { context }), 1e-12, 'cached cross-attention');
});

test('grouped-query attention equals multi-head attention with each K/V head repeated', () => {
  const grouped = module({ numKeyValueHeads: 2, causal: true });
  const full = module({ numKeyValueHeads: 4, causal: true }, 9);
  // Full-MHA key head h must be grouped head ⌊h/2⌋: copy W_k, W_v rows head by head (hs = 2).
  noGrad(() => {
    full.q_proj!.weight.data.set(grouped.q_proj!.weight.data);
    full.q_proj!.bias!.data.set(grouped.q_proj!.bias!.data);
    full.o_proj.weight.data.set(grouped.o_proj.weight.data);
    full.o_proj.bias!.data.set(grouped.o_proj.bias!.data);
    for (const name of ['k_proj', 'v_proj'] as const) {
      const from = grouped[name]!;
      const to = full[name]!;
      for (let h = 0; h < 4; h++) {
        const source = Math.floor(h / 2);
        to.weight.data.set(from.weight.data.subarray(source * 2 * 8, (source + 1) * 2 * 8), h * 2 * 8);
        to.bias!.data.set(from.bias!.data.subarray(source * 2, (source + 1) * 2), h * 2);
      }
    }
  });
  const x = randn([2, 5, 8], 10);
  assertClose(grouped.forward(x), full.forward(x), 1e-12, 'GQA vs MHA');
  assert.throws(() => module({ numKeyValueHeads: 3 }), /numHeads 4 is not a multiple of numKeyValueHeads 3/);
});

/** Feeds x in pieces through a KV cache and compares with one full forward. */
function checkCacheEqualsRecompute(attention: MultiHeadAttention, label: string): void {
  const x = randn([2, 9, 8], 11);
  const full = attention.forward(x);
  const cache: LayerCache = { keys: null, values: null };
  const pieces = [attention.forward(x.narrow(1, 0, 4), { cache })];
  for (let t = 4; t < 9; t++) pieces.push(attention.forward(x.narrow(1, t, 1), { cache }));
  assertClose(concat(pieces, 1), full, 1e-12, label);
  assert.equal(cache.keys!.shape[2], 9);
  assert.equal(cache.keys!.shape[1], attention.numKeyValueHeads, 'the cache holds the K/V heads, not their repeats');
}

test('KV cache equals full recompute for every positional scheme, with GQA', () => {
  checkCacheEqualsRecompute(module({ causal: true }), 'no positions');
  checkCacheEqualsRecompute(module({ causal: true, rotaryTheta: 10000 }), 'RoPE');
  checkCacheEqualsRecompute(module({ causal: true, rotaryTheta: 10000, numKeyValueHeads: 2 }), 'RoPE + GQA');
  checkCacheEqualsRecompute(module({ causal: true, positionBias: new ALiBi(4) }), 'ALiBi');
  checkCacheEqualsRecompute(module({ causal: true, positionBias: new RelativePositionBias(4, { bidirectional: false, dtype: 'float64', rng: new Rng(3), std: 1 }) }), 'T5 bias');
});

test('Transformer-XL memory: segment 2 with segment 1 as memory equals full attention over both, restricted to segment 2', () => {
  const schemes: [string, Partial<MultiHeadAttentionOptions>][] = [
    ['no positions', {}],
    ['RoPE', { rotaryTheta: 10000 }],
    ['ALiBi', { positionBias: new ALiBi(4) }],
    ['T5 bias', { positionBias: new RelativePositionBias(4, { bidirectional: false, dtype: 'float64', rng: new Rng(4), std: 1 }) }],
    ['fused, GQA', { fusedProjection: true, numKeyValueHeads: 2 }],
  ];
  for (const [label, options] of schemes) {
    const attention = module({ causal: true, ...options });
    const segment1 = randn([2, 4, 8], 12);
    const segment2 = randn([2, 3, 8], 13).detach();
    segment2.requiresGrad = true;
    const memorySource = segment1.detach();
    memorySource.requiresGrad = true;
    const withMemory = attention.forward(segment2, { memory: memorySource });
    const full = attention.forward(concat([segment1, segment2], 1));
    assertClose(withMemory, full.narrow(1, 4, 3), 1e-12, `XL ${label}`);
    withMemory.sum().backward();
    assert.equal(memorySource.grad, null, `${label}: no gradient flows into the memory`);
    assert.ok(segment2.grad !== null);
  }
  // Padding over memory + segment keys.
  const attention = module({ causal: true });
  const keep = Tensor.from([[0, 1, 1, 1, 1, 1, 1]], undefined, { dtype: 'float64' });
  const m = randn([1, 4, 8], 14);
  const s = randn([1, 3, 8], 15);
  attention.forward(s, { memory: m, keyPaddingMask: keep, returnWeights: true });
  for (let h = 0; h < 4; h++) assert.equal(attention.attentionWeights!.get(0, h, 2, 0), 0);
});

test('attendHeads rejects head counts that do not group', () => {
  assert.throws(() => attendHeads(Tensor.zeros([1, 3, 2, 4]), Tensor.zeros([1, 2, 2, 4]), Tensor.zeros([1, 2, 2, 4])), /NH a multiple of NHkv/);
});

test('gradients of every variant match finite differences (inputs and weights)', () => {
  const variants: [string, Partial<MultiHeadAttentionOptions>, boolean][] = [
    ['causal, scaled', { causal: true }, false],
    ['unscaled, padded', { scaled: false }, false],
    ['GQA + RoPE', { causal: true, numKeyValueHeads: 2, rotaryTheta: 100 }, false],
    ['ALiBi', { causal: true, positionBias: new ALiBi(2) }, false],
    ['T5 bias', { positionBias: new RelativePositionBias(2, { dtype: 'float64', rng: new Rng(5), numBuckets: 8, maxDistance: 16 }) }, false],
    ['fused', { fusedProjection: true, causal: true }, false],
    ['cross', { keyValueDim: 6 }, true],
    ['XL memory + RoPE', { causal: true, rotaryTheta: 100 }, false],
  ];
  for (const [label, options, cross] of variants) {
    const attention = module({ embedDim: 4, numHeads: 2, ...options }, 20);
    const x = Tensor.randn([1, 3, 4], { rng: new Rng(21), dtype: 'float64', requiresGrad: true });
    const context = Tensor.randn([1, 2, 6], { rng: new Rng(22), dtype: 'float64', requiresGrad: true });
    const keep = Tensor.from([[1, 1, 0]], undefined, { dtype: 'float64' });
    const inputs = cross ? [x, context] : [x];
    const memory = label.startsWith('XL') ? Tensor.randn([1, 2, 4], { rng: new Rng(23), dtype: 'float64' }) : null;
    const forwardOptions = cross ? { context } : { keyPaddingMask: label.includes('padded') ? keep : null, memory };
    gradcheck(`multi-head attention (${label})`, () => attention.forward(x, forwardOptions),
      [...inputs, ...attention.parameters()]);
  }
});
