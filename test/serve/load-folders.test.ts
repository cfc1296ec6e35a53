/**
 * Serving from folders: `loadServedModel` with a PEFT LoRA adapter (`--adapter`) generates what
 * the adapted model generates in memory, not what the base does; a BERT folder is refused as a
 * chat model and a GPT folder as an embedder, naming the flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { applyLora } from '../../src/adapt/lora.ts';
import { saveLoraAdapter } from '../../src/adapt/peft-files.ts';
import { generateText } from '../../src/generate/lm.ts';
import { loadGPT } from '../../src/models/gpt-folder.ts';
import { loadServedEmbedder, loadServedModel } from '../../src/serve/load.ts';
import { Rng } from '../../src/tensor/random.ts';
import { tinyModelFolder } from './fixtures.ts';

const folder = tinyModelFolder(20);

async function greedy(served: ReturnType<typeof loadServedModel>['served'], prompt: string): Promise<string> {
  let text = '';
  for await (const piece of served.generate({ promptIds: served.encode(prompt), maxTokens: 12, temperature: 0 })) text += piece.text;
  return text;
}

test('--adapter: the served model is the base plus the LoRA adapter, and says so in its id', async () => {
  const { model, tokenizer } = loadGPT(folder.dir);
  const lora = applyLora(model, { r: 2, lora_alpha: 4, lora_dropout: 0, target_modules: ['c_attn', 'c_fc'] }, { rng: new Rng(5) });
  const rng = new Rng(9);
  for (const parameter of lora.adapterParameters()) for (let i = 0; i < parameter.data.length; i++) parameter.data[i] = rng.normal() * 0.5; // B ≠ 0
  const adapterDir = join(folder.dir, '..', 'my-adapter');
  saveLoraAdapter(adapterDir, lora);
  model.eval();
  const prompt = 'User: hi\nAssistant:';
  const adapted = await generateText({ model, tokenizer, prompt, config: { max_new_tokens: 12, do_sample: false } });

  const base = loadServedModel(folder.dir);
  const withAdapter = loadServedModel(folder.dir, { adapter: adapterDir });
  assert.equal(base.served.id, 'tiny-chat');
  assert.equal(withAdapter.served.id, 'tiny-chat+my-adapter');
  assert.equal(await greedy(withAdapter.served, prompt), adapted.text);
  assert.notEqual(await greedy(base.served, prompt), adapted.text);
});

test('folders of the wrong kind are refused, naming the flag', () => {
  assert.throws(() => loadServedEmbedder(folder.dir), /--embed-model .*expected a BERT folder/);
});

test('the folder\'s chat template (chat_template.jinja) renders chat prompts, and no default stop is added', async () => {
  const { writeFileSync } = await import('node:fs');
  const { createServeApp } = await import('../../src/serve/app.ts');
  writeFileSync(join(folder.dir, 'chat_template.jinja'), "{% for m in messages %}{{ m.role }}: {{ m.content }}!\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}");
  const { served, chatTemplate } = loadServedModel(folder.dir);
  assert.ok(chatTemplate?.startsWith('{% for m in messages %}'));
  const app = createServeApp({ served, chatTemplate, log: () => {} });
  const response = await app.fetch(new Request('http://local/v1/chat/completions', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, temperature: 0 }),
  }));
  const body = (await response.json()) as { usage: { prompt_tokens: number } };
  // one token per character: "user: hi!\nassistant:"
  assert.equal(body.usage.prompt_tokens, 'user: hi!\nassistant:'.length);
});
