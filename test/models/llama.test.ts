import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Llama, defaultIntermediateSize, type LlamaConfigInput } from '../../src/models/llama.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { assertCausal, overfitFixedBatch, randomIds } from './fixtures.ts';

// Two layers, 4 query heads sharing 2 key/value heads (GQA), head size 8.
const tiny: LlamaConfigInput = {
  vocab_size: 50, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16,
};

/** Asserts two (B, T, V) logits agree within `tolerance`, naming the first index that does not. */
function assertLogitsClose(actual: Tensor, expected: Tensor | number[], tolerance: number, what: string): void {
  const a = actual.toArray();
  const e = Array.isArray(expected) ? expected : expected.toArray();
  assert.equal(a.length, e.length, `${what}: ${a.length} vs ${e.length} values`);
  const V = actual.shape[actual.ndim - 1];
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - e[i]);
    if (!(diff <= tolerance)) {
      const position = Math.floor(i / V);
      assert.fail(`${what}: logits at position ${position} (flattened B·T), vocab ${i % V}: ${a[i]} vs ${e[i]}, |diff| ${diff} > ${tolerance}`);
    }
  }
}

test('parameter names and shapes are exactly those of Hugging Face LlamaForCausalLM (2 layers, GQA)', () => {
  const C = 32;
  const hs = 8;
  const I = 48;
  // Keys of a LlamaForCausalLM state dict (transformers) for this config, in its order; the
  // rotary inv_freq buffer is non-persistent, so HF files do not hold it either.
  const expected: [string, number[]][] = [['model.embed_tokens.weight', [50, C]]];
  for (let layer = 0; layer < 2; layer++) {
    const prefix = `model.layers.${layer}`;
    expected.push(
      [`${prefix}.self_attn.q_proj.weight`, [4 * hs, C]],
      [`${prefix}.self_attn.k_proj.weight`, [2 * hs, C]],
      [`${prefix}.self_attn.v_proj.weight`, [2 * hs, C]],
      [`${prefix}.self_attn.o_proj.weight`, [C, 4 * hs]],
      [`${prefix}.mlp.gate_proj.weight`, [I, C]],
      [`${prefix}.mlp.up_proj.weight`, [I, C]],
      [`${prefix}.mlp.down_proj.weight`, [C, I]],
      [`${prefix}.input_layernorm.weight`, [C]],
      [`${prefix}.post_attention_layernorm.weight`, [C]],
    );
  }
  expected.push(['model.norm.weight', [C]], ['lm_head.weight', [50, C]]);
  const model = new Llama(tiny);
  const actual = Object.entries(model.stateDict()).map(([name, t]) => [name, [...t.shape]]);
  assert.deepEqual(actual, expected);
});

test('defaults: SwiGLU width 8/3·C rounded up to 8, as many KV heads as query heads, untied head', () => {
  assert.equal(defaultIntermediateSize(128), 344);
  assert.equal(defaultIntermediateSize(64), 176);
  const model = new Llama({ vocab_size: 10, hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 4 });
  assert.equal(model.config.intermediate_size, 176);
  assert.equal(model.config.num_key_value_heads, 4);
  assert.equal(model.config.tie_word_embeddings, false);
  assert.notEqual(model.lm_head, null);
});

test('HF initialisation: every Linear and the embedding N(0, 0.02²), RMSNorm gains one', () => {
  const model = new Llama({ vocab_size: 300, hidden_size: 64, num_hidden_layers: 1, num_attention_heads: 4 }, { rng: new Rng(3) });
  const std = (t: Tensor) => {
    const values = t.toArray();
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  };
  const layer = model.model.layers[0];
  for (const [name, weight] of [
    ['embed_tokens', model.model.embed_tokens.weight], ['q_proj', layer.self_attn.q_proj!.weight],
    ['down_proj', layer.mlp.down_proj.weight], ['lm_head', model.lm_head!.weight],
  ] as const) {
    assert.ok(Math.abs(std(weight) - 0.02) < 0.0015, `${name}: std ${std(weight)}`);
  }
  assert.ok(layer.input_layernorm.weight!.toArray().every((v) => v === 1));
});

/**
 * An independent oracle: the Llama forward pass written out with plain arrays and loops in
 * float64, from HF's modeling_llama.py (RMSNorm in float, rotate_half RoPE with
 * inv_freq = θ^(−2i/hs), repeat_kv so query head h reads KV head ⌊h / (NH/NKV)⌋, causal softmax
 * scaled by 1/√hs, SwiGLU, untied lm_head). Returns logits (T·V) for one sequence.
 */
function referenceLlamaLogits(model: Llama, ids: number[]): number[] {
  const cfg = model.config;
  const C = cfg.hidden_size;
  const NH = cfg.num_attention_heads;
  const NKV = cfg.num_key_value_heads;
  const hs = C / NH;
  const I = cfg.intermediate_size;
  const V = cfg.vocab_size;
  const T = ids.length;
  const state = Object.fromEntries(Object.entries(model.stateDict()).map(([name, t]) => [name, t.toArray()]));
  const linear = (x: number[], w: number[], outF: number, inF: number) =>
    Array.from({ length: outF }, (_, o) => x.reduce((acc, xi, i) => acc + xi * w[o * inF + i], 0));
  const rmsNorm = (x: number[], g: number[]) => {
    const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length + cfg.rms_norm_eps);
    return x.map((v, i) => (v / rms) * g[i]);
  };
  const rope = (vec: number[], position: number) => {
    const half = hs / 2;
    const out = vec.slice();
    for (let i = 0; i < half; i++) {
      const angle = position / Math.pow(cfg.rope_theta, (2 * i) / hs);
      out[i] = vec[i] * Math.cos(angle) - vec[i + half] * Math.sin(angle);
      out[i + half] = vec[i + half] * Math.cos(angle) + vec[i] * Math.sin(angle);
    }
    return out;
  };
  let hidden = ids.map((id) => state['model.embed_tokens.weight'].slice(id * C, (id + 1) * C));
  for (let layer = 0; layer < cfg.num_hidden_layers; layer++) {
    const p = (name: string) => state[`model.layers.${layer}.${name}.weight`];
    const normed = hidden.map((x) => rmsNorm(x, p('input_layernorm')));
    const q = normed.map((x) => linear(x, p('self_attn.q_proj'), NH * hs, C));
    const k = normed.map((x) => linear(x, p('self_attn.k_proj'), NKV * hs, C));
    const v = normed.map((x) => linear(x, p('self_attn.v_proj'), NKV * hs, C));
    const attended = Array.from({ length: T }, () => new Array<number>(NH * hs).fill(0));
    for (let h = 0; h < NH; h++) {
      const kvHead = Math.floor(h / (NH / NKV));
      for (let i = 0; i < T; i++) {
        const qi = rope(q[i].slice(h * hs, (h + 1) * hs), i);
        const scores = [];
        for (let j = 0; j <= i; j++) {
          const kj = rope(k[j].slice(kvHead * hs, (kvHead + 1) * hs), j);
          scores.push(qi.reduce((a, qv, d) => a + qv * kj[d], 0) / Math.sqrt(hs));
        }
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= i; j++) {
          for (let d = 0; d < hs; d++) attended[i][h * hs + d] += (exps[j] / total) * v[j][kvHead * hs + d];
        }
      }
    }
    hidden = hidden.map((x, t) => {
      const afterAttention = linear(attended[t], p('self_attn.o_proj'), C, NH * hs).map((o, c) => x[c] + o);
      const m = rmsNorm(afterAttention, p('post_attention_layernorm'));
      const gate = linear(m, p('mlp.gate_proj'), I, C);
      const up = linear(m, p('mlp.up_proj'), I, C);
      const swiglu = gate.map((g, n) => (g / (1 + Math.exp(-g))) * up[n]);
      return linear(swiglu, p('mlp.down_proj'), C, I).map((o, c) => afterAttention[c] + o);
    });
  }
  return hidden.flatMap((x) => linear(rmsNorm(x, state['model.norm.weight']), state['lm_head.weight'], V, C));
}

/** Norm gains away from 1, so a wrong gain index would show. */
function perturbNorms(model: Llama, rng: Rng): void {
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('norm.weight')) for (let i = 0; i < p.size; i++) p.data[i] = 1 + rng.normal(0, 0.3);
  }
}

for (const [label, kvHeads] of [['GQA (4 query heads, 2 KV heads)', 2], ['multi-head (4 KV heads)', 4], ['multi-query (1 KV head)', 1]] as const) {
  test(`logits equal an independent plain-array Llama forward: ${label} (tolerance 1e-5)`, () => {
    // std 0.2 rather than 0.02: large enough that attention is far from uniform and RoPE matters.
    const model = new Llama({ ...tiny, num_key_value_heads: kvHeads, initializer_range: 0.2 }, { rng: new Rng(11) }).eval();
    perturbNorms(model, new Rng(12));
    const ids = [3, 17, 42, 0, 9, 17, 3];
    const logits = noGrad(() => model.forward(Tensor.from(ids, [1, ids.length])).logits);
    assertLogitsClose(logits, referenceLlamaLogits(model, ids), 1e-5, `Llama vs reference, ${label}`);
  });
}

test('GQA equals multi-head attention whose K/V projections repeat each KV head NH/NKV times', () => {
  const gqa = new Llama(tiny, { rng: new Rng(5) }).eval();
  const mha = new Llama({ ...tiny, num_key_value_heads: 4 }, { rng: new Rng(6) }).eval();
  const hs = 8;
  const C = 32;
  const state = new Map(Object.entries(gqa.stateDict()));
  for (let layer = 0; layer < 2; layer++) {
    for (const proj of ['k_proj', 'v_proj']) {
      const name = `model.layers.${layer}.self_attn.${proj}.weight`;
      const w = state.get(name)!.toArray(); // (2·hs, C)
      // query heads 0, 1 read KV head 0; heads 2, 3 read KV head 1 (HF's repeat_kv)
      const repeated = [0, 0, 1, 1].flatMap((kvHead) => w.slice(kvHead * hs * C, (kvHead + 1) * hs * C));
      state.set(name, Tensor.from(repeated, [4 * hs, C]));
    }
  }
  mha.loadStateDict(state);
  const ids = randomIds(new Rng(7), 2, 12, 50);
  const a = noGrad(() => gqa.forward(ids).logits);
  const b = noGrad(() => mha.forward(ids).logits);
  assertLogitsClose(a, b, 1e-5, 'GQA vs repeated-head MHA');
});

test('KV-cache decoding (RoPE at the cache offset, GQA cache of NKV heads) gives the same logits as a full recompute (1e-5)', () => {
  const model = new Llama({ ...tiny, initializer_range: 0.1 }, { rng: new Rng(1) }).eval();
  const ids = randomIds(new Rng(2), 2, 16, 50);
  const full = noGrad(() => model.forward(ids).logits);
  const cache = model.newCache();
  const pieces = noGrad(() => {
    const out = [model.forward(ids.narrow(1, 0, 5), { cache }).logits];
    for (let t = 5; t < 14; t++) out.push(model.forward(ids.narrow(1, t, 1), { cache }).logits);
    out.push(model.forward(ids.narrow(1, 14, 2), { cache }).logits);
    return out;
  });
  let position = 0;
  for (const piece of pieces) {
    const T = piece.shape[1];
    assertLogitsClose(piece, full.narrow(1, position, T).contiguous(), 1e-5, `cached positions ${position}..${position + T - 1}`);
    position += T;
  }
  assert.equal(cache.length, 16);
  assert.deepEqual(cache.layers[0].keys!.shape, [2, 2, 16, 8]); // (B, NKV, T, hs): GQA keeps 2 heads, not 4
});

test('causal: changing a future token does not change earlier logits', () => {
  assertCausal(new Llama(tiny, { rng: new Rng(4) }).eval(), new Rng(5));
});

test('a tiny Llama overfits a fixed batch to near-zero loss', () => {
  const loss = overfitFixedBatch(new Llama(tiny, { rng: new Rng(1) }), new Rng(2), { lr: 1e-2, steps: 100 });
  assert.ok(loss < 0.05, `loss after 100 steps: ${loss} (random targets start at ln 50 = 3.9)`);
});

test('tied embeddings: no lm_head, logits = final hidden state · embed_tokensᵀ', () => {
  const model = new Llama({ ...tiny, tie_word_embeddings: true }, { rng: new Rng(8) }).eval();
  assert.equal(model.lm_head, null);
  assert.ok(!Object.keys(model.stateDict()).includes('lm_head.weight'));
  const untied = new Llama(tiny, { rng: new Rng(9) }).eval();
  const state = new Map(Object.entries(model.stateDict()));
  state.set('lm_head.weight', model.model.embed_tokens.weight);
  untied.loadStateDict(state);
  const ids = randomIds(new Rng(10), 1, 6, 50);
  assertLogitsClose(noGrad(() => model.forward(ids).logits), noGrad(() => untied.forward(ids).logits), 1e-6, 'tied vs untied copy');
});

test('attention weights are exposed per layer on request (NH heads) and rows sum to 1', () => {
  const model = new Llama(tiny, { rng: new Rng(1) }).eval();
  noGrad(() => model.forward(randomIds(new Rng(3), 1, 6, 50), { returnAttention: true }));
  const weights = model.attentionWeights();
  assert.equal(weights.length, 2);
  assert.deepEqual(weights[0]!.shape, [1, 4, 6, 6]);
  const row = [0, 1, 2, 3, 4, 5].map((j) => weights[1]!.get(0, 2, 3, j));
  assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.deepEqual(row.slice(4), [0, 0]); // causal: query 3 sees keys 0..3 only
});

test('bad configs and over-long inputs are named errors', () => {
  assert.throws(() => new Llama({ vocab_size: 10, hidden_size: 30, num_attention_heads: 4 }), /hidden_size 30 is not divisible by num_attention_heads 4/);
  assert.throws(() => new Llama({ vocab_size: 10, hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 3 }), /num_attention_heads 4 is not divisible by num_key_value_heads 3/);
  assert.throws(() => new Llama({ vocab_size: 10, hidden_size: 12, num_attention_heads: 4 }), /head size 3 must be even/);
  assert.throws(() => new Llama({ vocab_size: 0 }), QkvValueError);
  const model = new Llama(tiny);
  assert.throws(() => model.forward(Tensor.zeros([1, 17])), /17 positions exceeds max_position_embeddings 16/);
});
