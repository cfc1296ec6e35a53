import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCausalLM, saveCausalLM, SUPPORTED_MODEL_TYPES } from '../../src/models/load.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

test('loadCausalLM picks the architecture from model_type and names what it cannot read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = trainCharTokenizer('abc');
  saveCausalLM(join(dir, 'gpt'), new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 8 }), tokenizer);
  saveCausalLM(join(dir, 'llama'), new Llama({ vocab_size: tokenizer.vocabSize, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 8 }), tokenizer);
  assert.ok(loadCausalLM(join(dir, 'gpt')).model instanceof GPT);
  assert.ok(loadCausalLM(join(dir, 'llama')).model instanceof Llama);
  assert.deepEqual([...SUPPORTED_MODEL_TYPES], ['gpt2', 'llama']);
  const config = JSON.parse(readFileSync(join(dir, 'gpt', 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'gpt', 'config.json'), JSON.stringify({ ...config, model_type: 'bert' }));
  assert.throws(() => loadCausalLM(join(dir, 'gpt')), /model_type "bert" is not supported/);
  assert.throws(() => loadCausalLM(join(dir, 'nowhere')), /config\.json/);
});
