import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLora } from '../../src/adapt/lora.ts';
import { loadLoraAdapter, saveLoraAdapter } from '../../src/adapt/peft-files.ts';
import { loadSafetensors } from '../../src/io/safetensors.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { normal_ } from '../../src/nn/init.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { randomIds } from '../models/fixtures.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-peft-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const tinyGPT = () => new GPT({ vocab_size: 11, n_layer: 2, n_embd: 8, n_head: 2, n_positions: 16 }, { rng: new Rng(1) });
const tinyLlama = () =>
  new Llama({ vocab_size: 11, num_hidden_layers: 2, hidden_size: 8, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 16 }, { rng: new Rng(1) });

/** The keys and shapes PEFT writes for these models (lora_A (r, in), lora_B (out, r)), written out by hand. */
const GPT_C_ATTN_R2 = [
  ['base_model.model.transformer.h.0.attn.c_attn.lora_A.weight', [2, 8]],
  ['base_model.model.transformer.h.0.attn.c_attn.lora_B.weight', [24, 2]],
  ['base_model.model.transformer.h.1.attn.c_attn.lora_A.weight', [2, 8]],
  ['base_model.model.transformer.h.1.attn.c_attn.lora_B.weight', [24, 2]],
];
const LLAMA_QV_R2 = [
  ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', [2, 8]],
  ['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', [8, 2]],
  ['base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight', [2, 8]],
  ['base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight', [4, 2]], // one KV head of size 4
  ['base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight', [2, 8]],
  ['base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight', [8, 2]],
  ['base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight', [2, 8]],
  ['base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight', [4, 2]],
];

for (const [arch, build, targets, expected, fanInFanOut] of [
  ['GPT', tinyGPT, ['c_attn'], GPT_C_ATTN_R2, true],
  ['Llama', tinyLlama, ['q_proj', 'v_proj'], LLAMA_QV_R2, false],
] as const) {
  test(`${arch}: adapter files have PEFT's keys, shapes and config fields, and round-trip onto a fresh base`, (t) => {
    const dir = tempDir(t);
    const model = build();
    const lora = applyLora(model, { r: 2, lora_alpha: 4, lora_dropout: 0.1, target_modules: [...targets] }, { rng: new Rng(2) });
    for (const parameter of lora.adapterParameters()) normal_(parameter, 0, 0.3, new Rng(parameter.size));
    saveLoraAdapter(dir, lora, { baseModelNameOrPath: 'runs/tiny' });

    const { tensors, metadata } = loadSafetensors(join(dir, 'adapter_model.safetensors'));
    assert.deepEqual([...tensors].map(([key, entry]) => [key, entry.shape]), expected);
    assert.equal(metadata.format, 'pt');
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(
      { peft_type: config.peft_type, task_type: config.task_type, r: config.r, lora_alpha: config.lora_alpha, lora_dropout: config.lora_dropout, target_modules: config.target_modules, bias: config.bias, fan_in_fan_out: config.fan_in_fan_out, base_model_name_or_path: config.base_model_name_or_path },
      { peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 2, lora_alpha: 4, lora_dropout: 0.1, target_modules: [...targets], bias: 'none', fan_in_fan_out: fanInFanOut, base_model_name_or_path: 'runs/tiny' },
    );

    const ids = randomIds(new Rng(3), 1, 6, 11);
    model.eval();
    const adapted = noGrad(() => model.forward(ids).logits.toArray());
    const fresh = build().eval();
    const loaded = loadLoraAdapter(fresh, dir);
    assert.deepEqual(noGrad(() => fresh.forward(ids).logits.toArray()), adapted);
    assert.equal(loaded.trainableParameters(), lora.trainableParameters());
  });
}

test('a mismatched adapter is refused naming the file and the keys (nothing is copied)', (t) => {
  const dir = tempDir(t);
  const lora = applyLora(tinyGPT(), { r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['c_attn'] });
  saveLoraAdapter(dir, lora);
  const wider = new GPT({ vocab_size: 11, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 16 });
  assert.throws(() => loadLoraAdapter(wider, dir), /adapter_model\.safetensors: .*c_attn\.lora_A\.weight expected \(2,16\) got \(2,8\)/);
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...config, peft_type: 'PREFIX_TUNING' }));
  assert.throws(() => loadLoraAdapter(tinyGPT(), dir), /adapter_config\.json: field "peft_type": expected "LORA"/);
  assert.throws(() => loadLoraAdapter(tinyGPT(), join(dir, 'nope')), /adapter_config\.json: missing/);
});
