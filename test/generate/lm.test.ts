import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { generateText, modelStep, streamText } from '../../src/generate/lm.ts';
import { argmax } from '../../src/generate/sampler.ts';

const tokenizer = trainCharTokenizer('abcdefgh ', { specialTokens: ['<|endoftext|>'] });
const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 12 }, { rng: new Rng(5) });

test('cached and uncached steps give the same logits, also past the context length', () => {
  const cached = modelStep(model, true);
  const uncached = modelStep(model, false);
  const ids = tokenizer.encodeIds('abc');
  for (let i = 0; i < 15; i++) {
    const a = cached(ids);
    const b = uncached(ids);
    if (ids.length < 12) {
      for (let v = 0; v < a.length; v++) assert.ok(Math.abs(a[v] - b[v]) < 1e-5, `step ${i} token ${v}`);
    }
    ids.push(argmax(a));
  }
});

test('temperature 0 generation equals step-by-step argmax, with and without the cache', async () => {
  const config = { max_new_tokens: 8, temperature: 0 };
  const withCache = await generateText({ model, tokenizer, prompt: 'ab', config });
  const withoutCache = await generateText({ model, tokenizer, prompt: 'ab', config, useCache: false });
  assert.deepEqual(withCache.ids, withoutCache.ids);
  const step = modelStep(model, false);
  const ids = tokenizer.encodeIds('ab');
  const expected: number[] = [];
  for (let i = 0; i < 8; i++) {
    const next = argmax(step(ids));
    ids.push(next);
    expected.push(next);
    if (next === tokenizer.tokenToId('<|endoftext|>')) break;
  }
  assert.deepEqual(withCache.ids, expected);
  assert.deepEqual(withCache.promptIds, tokenizer.encodeIds('ab'));
});

test('streaming yields the same text as the one-shot call, and an empty prompt starts from <|endoftext|>', async () => {
  const config = { max_new_tokens: 10, do_sample: true, seed: 3 };
  let streamed = '';
  for await (const piece of streamText({ model, tokenizer, prompt: '', config })) streamed += piece.text;
  const whole = await generateText({ model, tokenizer, prompt: '', config });
  assert.equal(streamed, whole.text);
  assert.deepEqual(whole.promptIds, [tokenizer.tokenToId('<|endoftext|>')]);
});

test('past the context length the cache is rebuilt once per half-context, not at every token', () => {
  const step = modelStep(model, true);
  let positions = 0;
  const forward = model.forward.bind(model);
  model.forward = ((ids, options) => {
    positions += ids.shape[1];
    return forward(ids, options);
  }) as typeof model.forward;
  try {
    const ids = tokenizer.encodeIds('ab');
    for (let i = 0; i < 60; i++) ids.push(argmax(step(ids)));
  } finally {
    model.forward = forward;
  }
  // 62 tokens with a 12-token context: ~1 position per token plus a 6-token rebuild every ~6 tokens.
  // Rebuilding the full window at every step would cost ~11 positions per token (over 500).
  assert.ok(positions < 2.5 * 62, `${positions} positions computed`);
});
