import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_NEW_TOKENS, isGreedy, newTokenLimit, resolveGenerationConfig, type GenerationConfig } from '../../src/generate/config.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

test('defaults are Hugging Face\'s: greedy, temperature 1, top_k 50, top_p 1, no penalty', () => {
  const config = resolveGenerationConfig();
  assert.deepEqual(config, {
    max_new_tokens: null,
    max_length: null,
    min_new_tokens: 0,
    do_sample: false,
    temperature: 1,
    top_k: 50,
    top_p: 1,
    repetition_penalty: 1,
    eos_token_id: [],
    seed: null,
    stop: [],
  });
  assert.equal(isGreedy(config), true);
});

test('reads GPT-2\'s generation_config.json as written by transformers', () => {
  const gpt2 = { _from_model_config: true, bos_token_id: 50256, eos_token_id: 50256, transformers_version: '4.26.0.dev0' };
  const config = resolveGenerationConfig(gpt2);
  assert.deepEqual(config.eos_token_id, [50256]);
  assert.equal(config.do_sample, false);
});

test('null means unset, as in files written by transformers', () => {
  const config = resolveGenerationConfig({ max_new_tokens: null, temperature: null, do_sample: null, stop_strings: null, eos_token_id: null });
  assert.equal(config.max_new_tokens, null);
  assert.equal(config.temperature, 1);
  assert.deepEqual(config.eos_token_id, []);
});

test('resolving is idempotent', () => {
  const once = resolveGenerationConfig({ do_sample: true, temperature: 0.7, top_k: 5, top_p: 0.9, eos_token_id: [1, 2], stop: 'x', seed: 3, max_new_tokens: 9 });
  assert.deepEqual(resolveGenerationConfig(once), once);
});

test('stop and stop_strings are merged, in order, without duplicates', () => {
  assert.deepEqual(resolveGenerationConfig({ stop: ['a', 'b'], stop_strings: ['b', 'c'] }).stop, ['a', 'b', 'c']);
  assert.deepEqual(resolveGenerationConfig({ stop: '\n' }).stop, ['\n']);
});

test('greedy when do_sample is false or temperature is 0', () => {
  assert.equal(isGreedy(resolveGenerationConfig({ do_sample: true })), false);
  assert.equal(isGreedy(resolveGenerationConfig({ do_sample: true, temperature: 0 })), true);
  assert.equal(isGreedy(resolveGenerationConfig({ do_sample: false, temperature: 0.5 })), true);
});

test('new-token limit: max_new_tokens, else max_length minus the prompt, else 20', () => {
  assert.equal(newTokenLimit(resolveGenerationConfig({ max_new_tokens: 7, max_length: 100 }), 50), 7);
  assert.equal(newTokenLimit(resolveGenerationConfig({ max_length: 30 }), 12), 18);
  assert.equal(newTokenLimit(resolveGenerationConfig({ max_length: 10 }), 12), 0);
  assert.equal(newTokenLimit(resolveGenerationConfig({}), 1000), DEFAULT_NEW_TOKENS);
});

test('invalid values are rejected with an error naming the field', () => {
  const cases: Array<[unknown, string]> = [
    [{ num_beams: 4 }, 'num_beams'],
    [{ temperature: -0.5 }, 'temperature'],
    [{ temperature: Number.NaN }, 'temperature'],
    [{ top_k: 2.5 }, 'top_k'],
    [{ top_k: -1 }, 'top_k'],
    [{ top_p: 1.5 }, 'top_p'],
    [{ top_p: -0.1 }, 'top_p'],
    [{ repetition_penalty: 0 }, 'repetition_penalty'],
    [{ repetition_penalty: -1 }, 'repetition_penalty'],
    [{ max_new_tokens: -1 }, 'max_new_tokens'],
    [{ max_new_tokens: '5' }, 'max_new_tokens'],
    [{ max_length: 3.5 }, 'max_length'],
    [{ min_new_tokens: -2 }, 'min_new_tokens'],
    [{ do_sample: 'yes' }, 'do_sample'],
    [{ eos_token_id: 'eos' }, 'eos_token_id'],
    [{ eos_token_id: [1, -1] }, 'eos_token_id'],
    [{ seed: 1.5 }, 'seed'],
    [{ stop: '' }, 'stop'],
    [{ stop_strings: [3] }, 'stop_strings'],
  ];
  for (const [config, field] of cases) {
    assert.throws(
      () => resolveGenerationConfig(config as GenerationConfig),
      (error: unknown) => error instanceof QkvValueError && error.message.includes(field),
      `config ${JSON.stringify(config)} should be rejected naming "${field}"`,
    );
  }
  assert.throws(() => resolveGenerationConfig([] as unknown as GenerationConfig), QkvValueError);
});
