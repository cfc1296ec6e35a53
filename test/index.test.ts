import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as qkv from '../src/index.ts';

test('the package entry exposes each area of the library', () => {
  for (const name of ['Tensor', 'noGrad', 'gradcheck', 'matmul', 'crossEntropy', 'Module', 'Linear', 'LayerNorm', 'AdamW', 'clipGradNorm',
    'trainBpe', 'loadGpt2Tokenizer', 'Tokenizer', 'GPT', 'Llama', 'loadCausalLM', 'saveCausalLM', 'trainLanguageModel', 'trainOnText',
    'generateText', 'streamText', 'evaluatePerplexity', 'collectAttentionMaps', 'renderAttentionPng', 'serializeSafetensors']) {
    assert.equal(typeof (qkv as Record<string, unknown>)[name], 'function', name);
  }
  assert.equal(typeof qkv.kernels.getKernelInfo, 'function');
  assert.equal(typeof qkv.generation.generateStream, 'function');
});

test('the entry works end to end: a tiny GPT through the public API', async () => {
  const tokenizer = qkv.trainCharTokenizer('abc abc', { specialTokens: ['<|endoftext|>'] });
  const model = new qkv.GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 8 });
  const { text } = await qkv.generateText({ model, tokenizer, prompt: 'ab', config: { max_new_tokens: 3 } });
  assert.equal(typeof text, 'string');
});
