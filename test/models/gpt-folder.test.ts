import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt.ts';
import { gptConfigFromJson, gptConfigToJson, loadGPT, normalizeGPTStateDict, saveGPT } from '../../src/models/gpt-folder.ts';
import { loadCausalLM } from '../../src/models/load.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors.ts';

const tokenizer = trainCharTokenizer('hello world', { specialTokens: ['<|endoftext|>'] });
const config = { vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 8, n_head: 2, n_positions: 8 };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-gpt-folder-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('save → load gives identical logits, and the folder is a Hugging Face GPT-2 folder', (t) => {
  const dir = tempDir(t);
  const model = new GPT(config, { rng: new Rng(3) });
  saveGPT(dir, model, tokenizer);
  const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(json.model_type, 'gpt2');
  assert.deepEqual(json.architectures, ['GPT2LMHeadModel']);
  assert.equal(json.n_embd, 8);
  assert.equal(json.eos_token_id, tokenizer.tokenToId('<|endoftext|>'));
  const names = [...loadSafetensors(join(dir, 'model.safetensors')).tensors.keys()];
  assert.ok(names.includes('transformer.h.1.attn.c_attn.weight'));
  assert.ok(!names.includes('lm_head.weight'), 'the tied head is not stored twice');

  const loaded = loadCausalLM(dir);
  const ids = Tensor.from(tokenizer.encodeIds('hello'), [1, 5]);
  const a = noGrad(() => model.forward(ids).logits.toArray());
  const b = noGrad(() => loaded.model.forward(ids).logits.toArray());
  assert.deepEqual(a, b);
  assert.equal(loaded.tokenizer.decode(tokenizer.encodeIds('hello world')), 'hello world');
});

test('checkpoints written by transformers load: no prefix, tied lm_head, attn.bias buffers', (t) => {
  const dir = tempDir(t);
  const model = new GPT(config, { rng: new Rng(4) });
  saveGPT(dir, model, tokenizer);
  // Rewrite the weights the way GPT-2's original files name them.
  const entries = new Map<string, Tensor>();
  for (const [name, tensor] of Object.entries(model.stateDict())) entries.set(name.replace(/^transformer\./, ''), tensor);
  entries.set('lm_head.weight', model.transformer.wte.weight);
  entries.set('h.0.attn.bias', Tensor.ones([1, 1, 8, 8]));
  saveSafetensors(join(dir, 'model.safetensors'), entries, { format: 'pt' });
  const { model: loaded } = loadGPT(dir);
  assert.deepEqual(loaded.transformer.h[1].mlp.c_fc.weight.toArray(), model.transformer.h[1].mlp.c_fc.weight.toArray());
  assert.equal(normalizeGPTStateDict(entries).size, Object.keys(model.stateDict()).length);
});

test('config.json errors name the file and the field', () => {
  const good = gptConfigToJson(new GPT(config).config);
  assert.deepEqual(gptConfigFromJson(good, 'c.json'), new GPT(config).config);
  assert.throws(() => gptConfigFromJson({ ...good, n_head: 0 }, 'c.json'), /c\.json: field "n_head"/);
  assert.throws(() => gptConfigFromJson({ ...good, n_embd: 'x' }, 'c.json'), /c\.json: field "n_embd"/);
  assert.throws(() => gptConfigFromJson({ ...good, model_type: 'bert' }, 'c.json'), /model_type is "bert"/);
  assert.throws(() => gptConfigFromJson({ ...good, activation_function: 'relu' }, 'c.json'), /activation_function "relu" is not supported/);
});

test('a folder with a wrongly shaped tensor is rejected by name', (t) => {
  const dir = tempDir(t);
  saveGPT(dir, new GPT(config), tokenizer);
  const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...json, n_embd: 16, n_head: 2 }));
  assert.throws(() => loadGPT(dir), /shape mismatch: transformer\.wte\.weight expected \(\d+,16\) got \(\d+,8\)/);
});
