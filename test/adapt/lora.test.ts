import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLora, LoraLayer, matchesTarget, LoraModel, PEFT_DEFAULT_TARGET_MODULES } from '../../src/adapt/lora.ts';
import { BertModel } from '../../src/models/bert.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { Conv1D } from '../../src/nn/conv1d.ts';
import { Linear } from '../../src/nn/linear.ts';
import { normal_ } from '../../src/nn/init.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { gradcheck } from '../../src/tensor/gradcheck.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { randomIds } from '../models/fixtures.ts';

const tinyGPT = (seed = 1) => new GPT({ vocab_size: 11, n_layer: 2, n_embd: 8, n_head: 2, n_positions: 16 }, { rng: new Rng(seed) });
const tinyLlama = (seed = 1) =>
  new Llama({ vocab_size: 11, num_hidden_layers: 2, hidden_size: 8, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 16 }, { rng: new Rng(seed) });

/** Gives every adapter matrix random values, so the update is not zero. */
function randomizeAdapters(lora: LoraModel, name: string, rng: Rng): void {
  for (const layer of lora.layers.values()) {
    normal_(layer.lora_A.get(name)!.weight, 0, 0.3, rng);
    normal_(layer.lora_B.get(name)!.weight, 0, 0.3, rng);
  }
}

const logitsOf = (model: GPT | Llama, ids: Tensor) => noGrad(() => model.forward(ids).logits.toArray());

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

for (const [arch, build, targets] of [
  ['GPT (Conv1D, fan_in_fan_out)', tinyGPT, ['c_attn', 'c_fc', 'c_proj']],
  ['Llama (Linear)', tinyLlama, ['q_proj', 'v_proj', 'gate_proj', 'down_proj']],
] as const) {
  test(`${arch}: with B = 0 the adapted model equals the base exactly; with B ≠ 0 it differs`, () => {
    const model = build();
    const ids = randomIds(new Rng(2), 2, 7, 11);
    const base = logitsOf(model, ids);
    const lora = applyLora(model, { r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: [...targets] }, { rng: new Rng(3) });
    assert.deepEqual(logitsOf(model, ids), base); // bit for bit
    randomizeAdapters(lora, 'default', new Rng(4));
    assert.ok(maxAbsDiff(logitsOf(model, ids), base) > 1e-3);
  });

  test(`${arch}: merge then un-merge restores W within 1e-6; the merged model computes the adapted output`, () => {
    const model = build();
    const ids = randomIds(new Rng(2), 1, 6, 11);
    const lora = applyLora(model, { r: 3, lora_alpha: 6, lora_dropout: 0, target_modules: [...targets] }, { rng: new Rng(3) });
    randomizeAdapters(lora, 'default', new Rng(5));
    const weightsBefore = [...lora.layers.values()].map((layer) => Float32Array.from(layer.weight.data));
    const adapted = logitsOf(model, ids);
    lora.merge();
    assert.ok(maxAbsDiff(logitsOf(model, ids), adapted) < 1e-5);
    assert.ok(maxAbsDiff(lora.layers.values().next().value!.weight.data, weightsBefore[0]) > 1e-3, 'merge changed W');
    lora.unmerge();
    [...lora.layers.values()].forEach((layer, i) => assert.ok(maxAbsDiff(layer.weight.data, weightsBefore[i]) <= 1e-6, `layer ${i}`));
    assert.ok(maxAbsDiff(logitsOf(model, ids), adapted) < 1e-6);
    // merge_and_unload: plain layers again, same outputs, no lora keys in the state dict
    const plain = lora.mergeAndUnload() as GPT | Llama;
    assert.ok(maxAbsDiff(logitsOf(plain, ids), adapted) < 1e-5);
    assert.ok(Object.keys(plain.stateDict()).every((key) => !key.includes('lora_')));
    assert.ok(plain.namedModules().every(([, module]) => !(module instanceof LoraLayer)));
  });

  test(`${arch}: only A and B receive gradients; the KV-cache path sees the adapter`, () => {
    const model = build();
    const lora = applyLora(model, { r: 2, lora_alpha: 2, lora_dropout: 0, target_modules: [...targets] }, { rng: new Rng(3) });
    randomizeAdapters(lora, 'default', new Rng(6));
    const ids = randomIds(new Rng(7), 2, 6, 11);
    model.forward(ids, { targets: randomIds(new Rng(8), 2, 6, 11) }).loss!.backward();
    for (const [name, parameter] of model.namedParameters()) {
      const isAdapter = /\.lora_[AB]\.default\.weight$/.test(name);
      assert.equal(parameter.requiresGrad, isAdapter, name);
      assert.equal(parameter.grad !== null, isAdapter, `${name} gradient`);
    }
    // incremental decoding with the adapter equals the full forward
    model.eval();
    const full = noGrad(() => model.forward(ids.narrow(0, 0, 1)).logits);
    const cache = model.newCache();
    const first = noGrad(() => model.forward(ids.narrow(0, 0, 1).narrow(1, 0, 4), { cache: cache as never }).logits);
    const rest = noGrad(() => model.forward(ids.narrow(0, 0, 1).narrow(1, 4, 2), { cache: cache as never }).logits);
    assert.ok(maxAbsDiff(first.contiguousData(), full.narrow(1, 0, 4).contiguousData()) < 1e-5);
    assert.ok(maxAbsDiff(rest.contiguousData(), full.narrow(1, 4, 2).contiguousData()) < 1e-5);
  });
}

test('gradients of A and B (and x) match finite differences, for Linear and for Conv1D (fan_in_fan_out)', () => {
  for (const base of [new Linear(5, 4, { rng: new Rng(1), dtype: 'float64' }), new Conv1D(5, 4, { rng: new Rng(1) }).to('float64')]) {
    base.requiresGrad_(false);
    const layer = new LoraLayer(base);
    layer.addAdapter('default', { r: 3, lora_alpha: 5, lora_dropout: 0, target_modules: ['x'] }, new Rng(2));
    const a = layer.lora_A.get('default')!.weight;
    const b = layer.lora_B.get('default')!.weight;
    normal_(b, 0, 0.5, new Rng(3));
    const x = Tensor.randn([2, 3, 5], { dtype: 'float64', rng: new Rng(4), requiresGrad: true });
    const result = gradcheck(`lora ${base.constructor.name}`, () => layer.forward(x), [a, b, x]);
    assert.equal(result.checked, a.size + b.size + x.size);
    assert.equal(base.weight.grad, null, 'W is frozen');
    if (base instanceof Conv1D) gradcheck('lora forwardGelu', () => layer.forwardGelu(x), [a, b, x]);
  }
});

test('trainable parameters: Σ r·(in + out) over the wrapped layers, against the written-out formula', () => {
  const gpt = tinyGPT();
  const total = gpt.numParameters();
  const lora = applyLora(gpt, { r: 4, lora_alpha: 8, lora_dropout: 0.05, target_modules: ['c_attn'] });
  const C = 8, L = 2, r = 4;
  assert.equal(lora.trainableParameters(), L * r * (C + 3 * C)); // c_attn: C → 3C
  assert.equal(gpt.numParameters({ trainableOnly: true }), 256);
  assert.equal(gpt.numParameters(), total + 256);
  // Llama with grouped-query attention: q_proj C → C, v_proj C → NKV·hs = 4
  const llama = tinyLlama();
  const llamaLora = applyLora(llama, { r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj', 'v_proj'] });
  assert.equal(llamaLora.trainableParameters(), L * (2 * (8 + 8) + 2 * (8 + 4)));
  assert.equal(llama.numParameters({ trainableOnly: true }), llamaLora.trainableParameters());
});

test('several adapters: loaded side by side, switched, disabled; disabled equals the base', () => {
  const model = tinyGPT();
  const ids = randomIds(new Rng(2), 1, 5, 11);
  const base = logitsOf(model, ids);
  const lora = applyLora(model, { r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['c_attn'] }, { adapterName: 'first' });
  randomizeAdapters(lora, 'first', new Rng(9));
  const first = logitsOf(model, ids);
  lora.addAdapter('second', { r: 1, lora_alpha: 1, lora_dropout: 0, target_modules: '.*\\.mlp\\.c_fc' });
  assert.equal(lora.activeAdapter, 'second');
  for (const layer of lora.layers.values()) if (layer.lora_A.get('second')) normal_(layer.lora_B.get('second')!.weight, 0, 0.5, new Rng(10));
  const second = logitsOf(model, ids);
  assert.ok(maxAbsDiff(second, first) > 1e-3 && maxAbsDiff(second, base) > 1e-3);
  lora.setAdapter('first');
  assert.deepEqual(logitsOf(model, ids), first);
  assert.deepEqual(lora.withAdaptersDisabled(() => logitsOf(model, ids)), base);
  assert.deepEqual(logitsOf(model, ids), first, 'adapters back on after withAdaptersDisabled');
  lora.disableAdapters();
  assert.deepEqual(logitsOf(model, ids), base);
  lora.enableAdapters();
  assert.deepEqual(logitsOf(model, ids), first);
});

test("target_modules follow PEFT's rule: a list matches a path's last names, a string is a full-match regex", () => {
  assert.ok(matchesTarget('transformer.h.0.attn.c_attn', ['c_attn']));
  assert.ok(!matchesTarget('transformer.h.0.attn.c_attn', ['attn']));
  assert.ok(matchesTarget('model.layers.1.self_attn.q_proj', '.*layers\\.1\\..*q_proj'));
  assert.ok(!matchesTarget('model.layers.1.self_attn.q_proj', 'q_proj'));
  assert.throws(() => applyLora(tinyGPT(), { r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['q_proj'] }), /target modules \["q_proj"\] not found.*c_attn/);
  assert.throws(() => applyLora(tinyGPT(), { r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['ln_1'] }), /LayerNorm; only Linear and Conv1D/);
  assert.throws(() => applyLora(tinyGPT(), { r: 0, lora_alpha: 4, lora_dropout: 0, target_modules: ['c_attn'] }), /r must be a positive integer/);
});

test("BERT (Linear, PEFT's default query/value targets): B = 0 equals the base; merge/un-merge restores W", () => {
  const bert = new BertModel({ vocab_size: 13, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 }, { rng: new Rng(1) }).eval();
  const ids = randomIds(new Rng(2), 2, 5, 13);
  const hidden = () => noGrad(() => bert.forward(ids).lastHiddenState.toArray());
  const base = hidden();
  const lora = applyLora(bert, { r: 2, lora_alpha: 4, lora_dropout: 0.1, target_modules: [...PEFT_DEFAULT_TARGET_MODULES.bert] }, { rng: new Rng(3) });
  assert.deepEqual(lora.layerPaths, ['encoder.layer.0.attention.self.query', 'encoder.layer.0.attention.self.value', 'encoder.layer.1.attention.self.query', 'encoder.layer.1.attention.self.value']);
  assert.deepEqual(hidden(), base);
  randomizeAdapters(lora, 'default', new Rng(4));
  const adapted = hidden();
  assert.ok(maxAbsDiff(adapted, base) > 1e-3);
  const before = [...lora.layers.values()].map((layer) => Float32Array.from(layer.weight.data));
  lora.merge();
  assert.ok(maxAbsDiff(hidden(), adapted) < 1e-5);
  lora.unmerge();
  [...lora.layers.values()].forEach((layer, i) => assert.ok(maxAbsDiff(layer.weight.data, before[i]) <= 1e-6));
});
