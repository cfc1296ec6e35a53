/**
 * The "gpt2" tokenizer rebuilt from `tokenizer.ggml.*` alone (what llama.cpp's converters write)
 * encodes and decodes as the tokenizer the file was written from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportGguf, loadGgufModel } from '../../src/io/gguf-model.ts';
import { serializeGguf } from '../../src/io/gguf-writer.ts';
import { readGguf } from '../../src/io/gguf-reader.ts';
import { tokenizerFromGgufMetadata } from '../../src/tokenizers/gguf-import.ts';
import { fixtureModels, fixtureText, fixtureTokenizer } from './gguf-fixtures.ts';

test('a "gpt2" GGUF tokenizer from tokens + merges gives the ids of the tokenizer that wrote it; other models are refused by name', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-gguf-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'm.gguf');
  exportGguf(file, fixtureModels.gpt2(), fixtureTokenizer);
  const { metadata } = readGguf(file);
  metadata.delete('tokenizer.huggingface.json'); // as a file from llama.cpp's converter: ggml keys only
  const imported = tokenizerFromGgufMetadata(metadata, file);
  assert.equal(imported.vocabSize, fixtureTokenizer.vocabSize);
  for (const text of [fixtureText.slice(0, 200), 'The QUICK fox, unseen words: zebra × 42!<|endoftext|>next', '  spaces\tand\nlines ']) {
    const expected = fixtureTokenizer.encodeIds(text);
    assert.ok(expected.length > 3);
    assert.deepEqual(imported.encodeIds(text), expected, `ids of ${JSON.stringify(text.slice(0, 30))}`);
    assert.equal(imported.decode(expected), fixtureTokenizer.decode(expected));
  }
  metadata.set('tokenizer.ggml.model', 'bert');
  assert.throws(() => tokenizerFromGgufMetadata(metadata, file), /tokenizer model "bert" is not imported/);
  metadata.set('tokenizer.ggml.model', 'gpt2');
  metadata.set('tokenizer.ggml.merges', ['a b c']);
  assert.throws(() => tokenizerFromGgufMetadata(metadata, file), /merge 0 is "a b c"/);
});

test('loadGgufModel without an embedded tokenizer.json reads tokenizer.ggml.*; a SentencePiece ("llama") vocabulary without tokens is named with its file and key', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-gguf-tok-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'spm.gguf');
  writeFileSync(file, serializeGguf({ metadata: { 'general.architecture': 'llama', 'tokenizer.ggml.model': 'llama' }, tensors: [] }));
  assert.throws(() => loadGgufModel(file), /spm\.gguf.*tokenizer\.ggml\.tokens.*missing, or not an array of strings/s);
});
