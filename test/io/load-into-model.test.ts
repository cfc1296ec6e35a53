import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGPT, saveGPT } from '../../src/models/gpt-folder.ts';
import { GPT } from '../../src/models/gpt.ts';
import { loadLlama, saveLlama } from '../../src/models/llama-folder.ts';
import { Llama } from '../../src/models/llama.ts';
import { initWeightsSkipped, noInitWeights, normal_ } from '../../src/nn/init.ts';
import { Linear } from '../../src/nn/linear.ts';
import type { Module } from '../../src/nn/module.ts';
import { defaultRng, Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const dir = mkdtempSync(join(tmpdir(), 'qkv-load-into-model-'));
const tokenizer = trainCharTokenizer('hello world', { specialTokens: ['<|endoftext|>'] });

/** Every state-dict tensor of `loaded` has exactly the bits of `saved`'s, named on failure. */
function assertSameBits(saved: Module, loaded: Module): void {
  const expected = saved.stateDict();
  const actual = loaded.stateDict();
  assert.deepEqual(Object.keys(actual), Object.keys(expected));
  for (const [name, tensor] of Object.entries(expected)) {
    const want = new Uint32Array(Float32Array.from(tensor.contiguousData()).buffer);
    const got = new Uint32Array(Float32Array.from(actual[name].contiguousData()).buffer);
    const first = want.findIndex((bits, i) => bits !== got[i]);
    if (first >= 0) assert.fail(`${name}[${first}]: saved bits 0x${want[first].toString(16)}, loaded 0x${got[first].toString(16)}`);
  }
}

/** Runs `load` and checks that the global generator's state is the same afterwards. */
function assertRngUntouched<T>(what: string, load: () => T): T {
  defaultRng.seed(99);
  const before = JSON.stringify(defaultRng.getState());
  const result = load();
  assert.equal(JSON.stringify(defaultRng.getState()), before, `${what} drew random numbers`);
  return result;
}

test('the control: building a model draws from the global generator', () => {
  defaultRng.seed(99);
  const before = JSON.stringify(defaultRng.getState());
  new GPT({ vocab_size: 12, n_layer: 1, n_embd: 8, n_head: 2 });
  assert.notEqual(JSON.stringify(defaultRng.getState()), before);
});

for (const position of ['learned', 'relative', 'rope'] as const) {
  test(`loadGPT (${position} positions): weights bit for bit, the generator untouched`, () => {
    const saved = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 8, position }, { rng: new Rng(3) });
    const folder = join(dir, `gpt-${position}`);
    saveGPT(folder, saved, tokenizer);
    const { model } = assertRngUntouched('loadGPT', () => loadGPT(folder));
    assertSameBits(saved, model);
  });
}

for (const tie_word_embeddings of [false, true]) {
  test(`loadLlama (GQA, tied ${tie_word_embeddings}): weights bit for bit, the generator untouched`, () => {
    const config = { vocab_size: tokenizer.vocabSize, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings };
    const saved = new Llama(config, { rng: new Rng(5) });
    const folder = join(dir, `llama-${tie_word_embeddings}`);
    saveLlama(folder, saved, tokenizer);
    const { model } = assertRngUntouched('loadLlama', () => loadLlama(folder));
    assertSameBits(saved, model);
  });
}

test('noInitWeights: initialisers draw nothing inside (nested too), everything is back to normal after, even after a throw', () => {
  const rng = new Rng(1);
  const before = JSON.stringify(rng.getState());
  const layer = noInitWeights(() => noInitWeights(() => new Linear(4, 3, { rng })));
  assert.equal(JSON.stringify(rng.getState()), before);
  assert.ok(layer.weight.data.every((v) => v === 0) && layer.bias!.data.every((v) => v === 0));
  assert.throws(() => noInitWeights(() => { throw new Error('boom'); }), /boom/);
  assert.equal(initWeightsSkipped(), false);
  const t = normal_(Tensor.zeros([4]), 0, 1, rng);
  assert.notEqual(JSON.stringify(rng.getState()), before);
  assert.ok(t.data.some((v) => v !== 0));
});
