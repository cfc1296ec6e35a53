import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';
import { GPT } from '../../src/models/gpt.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { generationConfigFromFlags } from '../../src/cli/generate.ts';


function modelFolder(t: { after(fn: () => void): void }): { dir: string; tokenizer: ReturnType<typeof trainCharTokenizer> } {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-generate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = trainCharTokenizer('the quick brown fox jumps over the lazy dog', { specialTokens: ['<|endoftext|>'] });
  saveGPT(dir, new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 32 }, { rng: new Rng(1) }), tokenizer);
  return { dir, tokenizer };
}

test('generate --json prints text, prompt_ids, ids and tokens_per_second; ids are the folder tokenizer\'s', async (t) => {
  const { dir, tokenizer } = modelFolder(t);
  const out = JSON.parse(await runCli(['generate', '--model', dir, '--prompt', 'the ', '--max-new-tokens', '6', '--temperature', '0', '--json']));
  assert.deepEqual(out.prompt_ids, tokenizer.encodeIds('the '));
  assert.ok(Array.isArray(out.ids) && out.ids.length > 0 && out.ids.length <= 6);
  assert.equal(typeof out.text, 'string');
  assert.ok(out.tokens_per_second > 0);
  // greedy is deterministic, with or without the KV cache
  const again = JSON.parse(await runCli(['generate', '--model', dir, '--prompt', 'the ', '--max-new-tokens', '6', '--temperature', '0', '--no-cache', '--json']));
  assert.deepEqual(again.ids, out.ids);
});

test('sampling flags map onto the generation config; bad values are named', async (t) => {
  const config = generationConfigFromFlags({ model: 'x', prompt: '', maxNewTokens: 5, temperature: 0.7, topK: 3, topP: 0.9, cache: true, stop: ['\n'], seed: 4 }, { eos_token_id: 0 });
  assert.deepEqual(config, { max_new_tokens: 5, do_sample: true, temperature: 0.7, top_k: 3, top_p: 0.9, repetition_penalty: 1, stop: ['\n'], seed: 4, eos_token_id: 0 });
  const { dir } = modelFolder(t);
  await assert.rejects(runCli(['generate', '--model', dir, '--top-p', '1.5']), /--top-p must be a number in \[0, 1\]/);
  await assert.rejects(runCli(['generate', '--model', join(dir, 'missing')]), /model folder|config\.json/);
});
