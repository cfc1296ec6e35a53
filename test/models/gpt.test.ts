import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt.ts';
import { gptConfigFromJson, gptConfigToJson } from '../../src/models/gpt-folder.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { AdamW } from '../../src/optim/index.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { assertCausal, overfitFixedBatch, randomIds } from './fixtures.ts';

const tiny = { vocab_size: 50, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 16 };

test('parameter names and shapes are exactly those of Hugging Face GPT2LMHeadModel', () => {
  const C = 32;
  // Keys of a GPT2LMHeadModel state dict (transformers), for n_layer = 2, without the tied
  // lm_head.weight and the non-persistent attn.bias mask buffer, which HF safetensors omit.
  const expected: [string, number[]][] = [['transformer.wte.weight', [50, C]], ['transformer.wpe.weight', [16, C]]];
  for (let layer = 0; layer < 2; layer++) {
    const prefix = `transformer.h.${layer}`;
    expected.push(
      [`${prefix}.ln_1.weight`, [C]], [`${prefix}.ln_1.bias`, [C]],
      [`${prefix}.attn.c_attn.weight`, [C, 3 * C]], [`${prefix}.attn.c_attn.bias`, [3 * C]],
      [`${prefix}.attn.c_proj.weight`, [C, C]], [`${prefix}.attn.c_proj.bias`, [C]],
      [`${prefix}.ln_2.weight`, [C]], [`${prefix}.ln_2.bias`, [C]],
      [`${prefix}.mlp.c_fc.weight`, [C, 4 * C]], [`${prefix}.mlp.c_fc.bias`, [4 * C]],
      [`${prefix}.mlp.c_proj.weight`, [4 * C, C]], [`${prefix}.mlp.c_proj.bias`, [C]],
    );
  }
  expected.push(['transformer.ln_f.weight', [C]], ['transformer.ln_f.bias', [C]]);
  const model = new GPT(tiny);
  const actual = Object.entries(model.stateDict()).map(([name, t]) => [name, [...t.shape]]);
  assert.deepEqual(actual, expected);
});

test('GPT-2 initialisation: std 0.02, residual projections 0.02/√(2·n_layer), biases zero', () => {
  const model = new GPT({ vocab_size: 400, n_layer: 3, n_embd: 64, n_head: 4, n_positions: 32 }, { rng: new Rng(3) });
  const std = (t: Tensor) => {
    const values = t.toArray();
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  };
  const block = model.transformer.h[0];
  assert.ok(Math.abs(std(model.transformer.wte.weight) - 0.02) < 0.001);
  assert.ok(Math.abs(std(block.attn.c_attn.weight) - 0.02) < 0.001);
  assert.ok(Math.abs(std(block.mlp.c_proj.weight) - 0.02 / Math.sqrt(6)) < 0.0005);
  assert.ok(block.attn.c_attn.bias.toArray().every((v) => v === 0));
});

test('KV-cache decoding gives the same logits as a full recompute (tolerance 1e-5)', () => {
  const model = new GPT(tiny, { rng: new Rng(1) }).eval();
  const ids = randomIds(new Rng(2), 2, 16, 50);
  const full = noGrad(() => model.forward(ids).logits);
  const cache = model.newCache();
  const pieces = noGrad(() => {
    const out = [model.forward(ids.narrow(1, 0, 5), { cache }).logits];
    for (let t = 5; t < 16; t++) out.push(model.forward(ids.narrow(1, t, 1), { cache }).logits);
    return out;
  });
  let position = 0;
  for (const piece of pieces) {
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < piece.shape[1]; t++) {
        for (let v = 0; v < 50; v++) {
          const diff = Math.abs(piece.get(b, t, v) - full.get(b, position + t, v));
          assert.ok(diff <= 1e-5, `logits (${b},${position + t},${v}) differ by ${diff}`);
        }
      }
    }
    position += piece.shape[1];
  }
  assert.equal(cache.length, 16);
});

test('causal: changing a future token does not change earlier logits', () => {
  assertCausal(new GPT(tiny, { rng: new Rng(4) }).eval(), new Rng(5));
});

test('a tiny GPT overfits a fixed batch to near-zero loss', () => {
  const loss = overfitFixedBatch(new GPT(tiny, { rng: new Rng(1) }), new Rng(2), { lr: 3e-3, steps: 150 });
  assert.ok(loss < 0.05, `loss after 150 steps: ${loss} (random targets start at ln 50 = 3.9)`);
});

test('attention weights are exposed per layer on request and rows sum to 1', () => {
  const model = new GPT(tiny, { rng: new Rng(1) }).eval();
  noGrad(() => model.forward(randomIds(new Rng(3), 1, 6, 50), { returnAttention: true }));
  const weights = model.attentionWeights();
  assert.equal(weights.length, 2);
  assert.deepEqual(weights[0]!.shape, [1, 4, 6, 6]);
  const row = [0, 1, 2, 3, 4, 5].map((j) => weights[1]!.get(0, 2, 3, j));
  assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.deepEqual(row.slice(4), [0, 0]); // causal: query 3 sees keys 0..3 only
});

test('bad configs and over-long inputs are named errors', () => {
  assert.throws(() => new GPT({ vocab_size: 10, n_embd: 30, n_head: 4 }), /n_embd 30 is not divisible by n_head 4/);
  assert.throws(() => new GPT({ vocab_size: 0 }), QkvValueError);
  const model = new GPT(tiny);
  assert.throws(() => model.forward(Tensor.zeros([1, 17])), /17 positions exceeds n_positions 16/);
});

// ---- positional schemes (config `position`) -------------------------------------------------

const SCHEMES = ['learned', 'sinusoidal', 'rope', 'alibi', 'relative', 'none'] as const;

test('each positional scheme: KV-cache decoding equals a full recompute', () => {
  for (const position of SCHEMES) {
    const model = new GPT({ ...tiny, position }, { rng: new Rng(6) }).eval();
    const ids = randomIds(new Rng(7), 2, 12, 50);
    const full = noGrad(() => model.forward(ids).logits);
    const cache = model.newCache();
    const pieces = noGrad(() => [model.forward(ids.narrow(1, 0, 4), { cache }).logits,
      ...Array.from({ length: 8 }, (_, i) => model.forward(ids.narrow(1, 4 + i, 1), { cache }).logits)]);
    let position_ = 0;
    for (const piece of pieces) {
      for (let b = 0; b < 2; b++) for (let t = 0; t < piece.shape[1]; t++) for (let v = 0; v < 50; v++) {
        const diff = Math.abs(piece.get(b, t, v) - full.get(b, position_ + t, v));
        assert.ok(diff <= 1e-5, `${position}: logits (${b},${position_ + t},${v}) differ by ${diff}`);
      }
      position_ += piece.shape[1];
    }
  }
});

test('each positional scheme is causal; added embeddings tell positions apart, none does not', () => {
  for (const position of SCHEMES) {
    const model = new GPT({ ...tiny, position }, { rng: new Rng(8) }).eval();
    const ids = randomIds(new Rng(9), 1, 8, 50);
    const changed = Tensor.from(ids.toArray().map((id, i) => (i === 5 ? (id + 1) % 50 : id)), [1, 8]);
    const a = noGrad(() => model.forward(ids).logits);
    const b = noGrad(() => model.forward(changed).logits);
    for (let t = 0; t < 5; t++) for (let v = 0; v < 50; v++) assert.equal(a.get(0, t, v), b.get(0, t, v), `${position}: (${t},${v})`);
    // The same token twice: only an added position embedding can tell the two rows apart (the
    // score schemes see identical values either way); with none they must be identical.
    const repeated = noGrad(() => model.forward(Tensor.from([[3, 3]])).logits);
    const same = Math.abs(repeated.get(0, 0, 0) - repeated.get(0, 1, 0)) < 1e-6;
    if (position === 'none') assert.ok(same, 'none: no position information');
    if (position === 'learned' || position === 'sinusoidal') assert.ok(!same, `${position}: positions 0 and 1 differ`);
  }
});

test('parameter names per scheme: wpe only for learned; T5 bias shared by the layers', () => {
  const names = (position: (typeof SCHEMES)[number]) => Object.keys(new GPT({ ...tiny, position }).stateDict());
  assert.ok(names('learned').includes('transformer.wpe.weight'));
  for (const position of ['sinusoidal', 'rope', 'alibi', 'none'] as const) {
    assert.deepEqual(names(position), names('learned').filter((name) => name !== 'transformer.wpe.weight'), position);
  }
  const relative = new GPT({ ...tiny, position: 'relative' });
  assert.deepEqual(relative.stateDict()['transformer.relative_attention_bias.weight'].shape, [32, 4]);
  assert.throws(() => new GPT({ ...tiny, position: 'absolute' as never }), /position must be one of learned, sinusoidal, rope, alibi, relative, none, got "absolute"/);
});

test('each positional scheme trains: loss on a fixed batch falls, and the T5 bias gets gradients', () => {
  const rng = new Rng(10);
  const ids = randomIds(rng, 2, 16, 50);
  const targets = randomIds(rng, 2, 16, 50);
  for (const position of SCHEMES) {
    const model = new GPT({ ...tiny, n_layer: 1, position }, { rng: new Rng(11) });
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
    let first = 0;
    let last = 0;
    for (let step = 0; step < 25; step++) {
      const out = model.forward(ids, { targets });
      if (step === 0) first = out.loss!.item();
      last = out.loss!.item();
      out.loss!.backward();
      if (position === 'relative' && step === 0) {
        const grad = model.transformer.relative_attention_bias!.weight.grad!;
        assert.ok(grad.toArray().some((g) => g !== 0), 'relative bias gradient');
      }
      optimizer.step();
      optimizer.zeroGrad();
    }
    assert.ok(last < first - 1, `${position}: loss ${first} → ${last}`);
  }
});

test('config.json carries position only when it is not GPT-2\'s learned table', () => {
  assert.equal(gptConfigToJson(new GPT(tiny).config).position, undefined);
  const json = gptConfigToJson(new GPT({ ...tiny, position: 'rope' }).config);
  assert.equal(json.position, 'rope');
  assert.equal(gptConfigFromJson(json, 'config.json').position, 'rope');
  assert.equal(gptConfigFromJson(gptConfigToJson(new GPT(tiny).config), 'config.json').position, 'learned');
  assert.throws(() => gptConfigFromJson({ ...json, position: 'spiral' }, 'dir/config.json'), /dir\/config.json/);
});

test('sinusoidal positions start at the token embeddings\' scale (a unit-amplitude table drowns them)', () => {
  const model = new GPT({ ...tiny, position: 'sinusoidal' }, { rng: new Rng(12) });
  const table = model.transformer.sinusoidal_positions!;
  const rms = Math.sqrt(table.toArray().reduce((sum, v) => sum + v * v, 0) / table.size);
  assert.ok(Math.abs(rms - 0.02) < 0.002, `rms ${rms}, token embedding std 0.02`);
  // Still the Vaswani formula, times a constant: PE(1, 0) = c·sin 1, PE(1, 1) = c·cos 1.
  const scale = 0.02 * Math.SQRT2;
  assert.ok(Math.abs(table.get(1, 0) - scale * Math.sin(1)) < 1e-7);
  assert.ok(Math.abs(table.get(1, 1) - scale * Math.cos(1)) < 1e-7);
});
