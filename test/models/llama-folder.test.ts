import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelFolder, saveModelFolder } from '../../src/io/model-folder.ts';
import { Llama, type LlamaConfigInput } from '../../src/models/llama.ts';
import { llamaConfigFromJson, llamaConfigToJson, loadLlama, saveLlama } from '../../src/models/llama-folder.ts';
import { loadCausalLM, saveCausalLM } from '../../src/models/load.ts';
import { GPT } from '../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const tokenizer = trainCharTokenizer('hello llama, hello world', { specialTokens: ['<|endoftext|>'] });
const config: LlamaConfigInput = {
  vocab_size: tokenizer.vocabSize, hidden_size: 16, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 12, initializer_range: 0.1,
};

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-llama-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function assertSameLogits(a: Tensor, b: Tensor): void {
  const x = a.toArray();
  const y = b.toArray();
  assert.equal(x.length, y.length);
  for (let i = 0; i < x.length; i++) assert.equal(x[i], y[i], `logit ${i}: ${x[i]} vs ${y[i]}`);
}

test('save → load round trip gives identical logits, tokenizer and config (model_type llama)', (t) => {
  const dir = tempDir(t);
  const model = new Llama(config, { rng: new Rng(1) }).eval();
  saveLlama(dir, model, tokenizer, { max_new_tokens: 20 });
  const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(json.model_type, 'llama');
  assert.deepEqual(json.architectures, ['LlamaForCausalLM']);
  assert.equal(json.num_key_value_heads, 2);
  assert.equal(json.tie_word_embeddings, false);
  assert.equal(json.hidden_act, 'silu');
  assert.equal(json.head_dim, 4);

  const loaded = loadLlama(dir);
  assert.deepEqual(loaded.model.config, model.config);
  assert.equal(loaded.generationConfig.max_new_tokens, 20);
  assert.deepEqual(loaded.tokenizer.encodeIds('hello'), tokenizer.encodeIds('hello'));
  const ids = Tensor.from(tokenizer.encodeIds('hello llama'), [1, 11]);
  assertSameLogits(noGrad(() => loaded.model.eval().forward(ids).logits), noGrad(() => model.forward(ids).logits));
});

test('loadCausalLM reads model_type from config.json: llama → Llama, gpt2 → GPT; saveCausalLM writes either', (t) => {
  const llamaDir = join(tempDir(t), 'llama');
  const gptDir = join(tempDir(t), 'gpt');
  saveCausalLM(llamaDir, new Llama(config), tokenizer);
  saveCausalLM(gptDir, new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 8 }), tokenizer);
  assert.ok(loadCausalLM(llamaDir).model instanceof Llama);
  assert.ok(loadCausalLM(gptDir).model instanceof GPT);
  writeFileSync(join(gptDir, 'config.json'), JSON.stringify({ model_type: 'xlnet' }));
  assert.throws(() => loadCausalLM(gptDir), /model_type "xlnet" is not supported \(supported: gpt2, llama\)/);
  // A known architecture that is not a causal LM says so and names the loader to use.
  writeFileSync(join(gptDir, 'config.json'), JSON.stringify({ model_type: 'bert' }));
  assert.throws(() => loadCausalLM(gptDir), /model_type "bert" is not supported by loadCausalLM: a BERT encoder does not generate text \(load it with loadModel/);
});

test('a tied model round-trips without lm_head.weight, and an HF file that keeps it still loads', (t) => {
  const dir = tempDir(t);
  const model = new Llama({ ...config, tie_word_embeddings: true }, { rng: new Rng(2) }).eval();
  saveLlama(dir, model, tokenizer);
  const ids = Tensor.from([1, 2, 3, 4], [1, 4]);
  assertSameLogits(noGrad(() => loadLlama(dir).model.eval().forward(ids).logits), noGrad(() => model.forward(ids).logits));
  // transformers may write the tied head as its own tensor (a copy, so both names are saved)
  const withHead = { ...model.stateDict(), 'lm_head.weight': model.model.embed_tokens.weight.contiguousCopy() };
  saveModelFolder(dir, { config: llamaConfigToJson(model.config), stateDict: withHead });
  assert.ok(loadModelFolder(dir).tensors.has('lm_head.weight'));
  assertSameLogits(noGrad(() => loadLlama(dir).model.eval().forward(ids).logits), noGrad(() => model.forward(ids).logits));
});

test('config.json: HF nulls mean defaults; unsupported fields are refused naming the file and field', () => {
  const file = '/models/x/config.json';
  const json = llamaConfigToJson(new Llama(config).config);
  assert.deepEqual(llamaConfigFromJson(json, file), new Llama(config).config);
  const hf = { model_type: 'llama', vocab_size: 32, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: null, head_dim: null };
  assert.equal(llamaConfigFromJson(hf, file).num_key_value_heads, 4);
  assert.throws(() => llamaConfigFromJson({ ...hf, model_type: 'gpt2' }, file), /config\.json: model_type is "gpt2"; a Llama folder has "llama"/);
  assert.throws(() => llamaConfigFromJson({ ...hf, hidden_act: 'gelu' }, file), /hidden_act "gelu" is not supported/);
  assert.throws(() => llamaConfigFromJson({ ...hf, rope_scaling: { type: 'linear', factor: 2 } }, file), /rope_scaling .* is not supported/);
  assert.throws(() => llamaConfigFromJson({ ...hf, head_dim: 8 }, file), /head_dim 8 is not hidden_size\/num_attention_heads = 4/);
  assert.throws(() => llamaConfigFromJson({ ...hf, hidden_size: 'wide' }, file), /config\.json.*hidden_size/);
});
