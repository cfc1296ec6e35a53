import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  optionalBoolean,
  optionalInteger,
  optionalNumber,
  optionalNumberArray,
  optionalObject,
  optionalOneOf,
  optionalString,
  optionalStringArray,
  readJsonFile,
  readJsonObject,
  requireBoolean,
  requireInteger,
  requireNumber,
  requireNumberArray,
  requireObject,
  requireOneOf,
  requireString,
  requireStringArray,
} from '../../src/io/config.ts';
import { QkvFileNotFoundError, QkvFormatError } from '../../src/io/errors.ts';

const file = 'out/config.json';

/** Asserts a QkvFormatError for `file` whose message matches. */
function rejects(read: () => unknown, pattern: RegExp): void {
  assert.throws(read, (error: unknown) => {
    assert.ok(error instanceof QkvFormatError, `expected QkvFormatError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.match(error.message, pattern);
    return true;
  });
}

const config = {
  n_embd: 128,
  layer_norm_epsilon: 1e-5,
  n_inner: null,
  model_type: 'gpt2',
  tie_word_embeddings: true,
  task_specific_params: { 'text-generation': { max_length: 50 } },
  architectures: ['GPT2LMHeadModel'],
  betas: [0.9, 0.95],
  as_text: '128',
  fraction: 2.5,
};

test('typed fields return the value when it is there and right', () => {
  assert.equal(requireNumber(config, 'layer_norm_epsilon', file, { greaterThan: 0 }), 1e-5);
  assert.equal(requireInteger(config, 'n_embd', file, { min: 1 }), 128);
  assert.equal(requireString(config, 'model_type', file), 'gpt2');
  assert.equal(requireBoolean(config, 'tie_word_embeddings', file), true);
  assert.deepEqual(requireObject(config, 'task_specific_params', file), { 'text-generation': { max_length: 50 } });
  assert.deepEqual(requireStringArray(config, 'architectures', file), ['GPT2LMHeadModel']);
  assert.deepEqual(requireNumberArray(config, 'betas', file), [0.9, 0.95]);
  assert.equal(requireOneOf(config, 'model_type', file, ['gpt2', 'llama'] as const), 'gpt2');
});

test('optional fields: absent and null give undefined, present ones are still checked', () => {
  for (const read of [optionalNumber, optionalInteger, optionalString, optionalBoolean, optionalObject, optionalStringArray, optionalNumberArray]) {
    assert.equal(read(config, 'no_such_field', file), undefined);
    assert.equal(read(config, 'n_inner', file), undefined, 'null counts as absent, as in Hugging Face configs');
  }
  assert.equal(optionalOneOf(config, 'n_inner', file, ['a']), undefined);
  assert.equal(optionalNumber(config, 'n_embd', file), 128);
  rejects(() => optionalNumber(config, 'as_text', file), /field "as_text": expected a number, found "128" \(a string\)/);
  rejects(() => optionalInteger(config, 'fraction', file), /field "fraction": expected an integer, found 2\.5/);
});

test('each error names the file and the field, with what was expected and what was found', () => {
  rejects(() => requireNumber(config, 'n_head', file), /^out\/config\.json: field "n_head": missing \(expected a number\)$/);
  rejects(() => requireInteger(config, 'n_inner', file), /field "n_inner": is null \(expected an integer\)/);
  rejects(() => requireNumber(config, 'as_text', file), /field "as_text": expected a number, found "128" \(a string\)/);
  rejects(() => requireInteger(config, 'fraction', file), /field "fraction": expected an integer, found 2\.5 \(a number\)/);
  rejects(() => requireInteger(config, 'n_embd', file, { min: 1, max: 64 }), /field "n_embd": expected an integer ≥ 1 and ≤ 64, found 128/);
  rejects(() => requireNumber(config, 'fraction', file, { greaterThan: 0, lessThan: 1 }), /expected a number > 0 and < 1, found 2\.5/);
  rejects(() => requireString(config, 'n_embd', file), /field "n_embd": expected a string, found 128 \(a number\)/);
  rejects(() => requireBoolean(config, 'model_type', file), /field "model_type": expected a boolean, found "gpt2" \(a string\)/);
  rejects(() => requireObject(config, 'architectures', file), /field "architectures": expected an object, found \["GPT2LMHeadModel"\] \(an array\)/);
  rejects(() => requireStringArray(config, 'betas', file), /field "betas": expected an array of strings/);
  rejects(() => requireNumberArray(config, 'architectures', file), /field "architectures": expected an array of numbers/);
  rejects(() => requireOneOf(config, 'model_type', file, ['bert', 'llama']), /field "model_type": expected one of "bert", "llama", found "gpt2"/);
  rejects(() => requireNumber({ lr: Number.NaN }, 'lr', file), /field "lr": expected a number/);
  rejects(() => requireNumber(Object.create({ inherited: 1 }) as Record<string, unknown>, 'inherited', file), /missing/);
});

test('readJsonFile / readJsonObject: missing file, bad JSON (with line and column), non-object', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-config-'));
  try {
    const path = join(dir, 'config.json');
    assert.throws(() => readJsonFile(path), (error: unknown) =>
      error instanceof QkvFileNotFoundError && error.message === `${path}: file not found`);

    writeFileSync(path, '{\n  "n_embd": 128,\n  "n_head" 4\n}\n');
    assert.throws(() => readJsonObject(path), (error: unknown) =>
      error instanceof QkvFormatError && error.message.startsWith(`${path}: not valid JSON: `) && /line 3, column 12/.test(error.message));

    writeFileSync(path, '[1, 2]');
    assert.deepEqual(readJsonFile(path), [1, 2]);
    assert.throws(() => readJsonObject(path), (error: unknown) =>
      error instanceof QkvFormatError && error.message === `${path}: expected a JSON object at the top level, found [1,2] (an array)`);

    writeFileSync(path, JSON.stringify(config));
    assert.deepEqual(readJsonObject(path), config);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
