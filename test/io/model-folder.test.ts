import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QkvFileNotFoundError, QkvFormatError } from '../../src/io/errors.ts';
import { loadModelFolder, saveModelFolder, untieStateDict } from '../../src/io/model-folder.ts';
import { loadSafetensors, saveSafetensors } from '../../src/io/safetensors.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

function withTempDir(body: (dir: string) => void): () => void {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkv-folder-'));
    try {
      body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** A toy GPT-2-shaped state dict: vocab 5, n_embd 2, one block's attention, head tied to the embedding. */
function tinyStateDict(): Map<string, Tensor> {
  const wte = Tensor.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [5, 2]);
  return new Map([
    ['transformer.wte.weight', wte],
    ['transformer.wpe.weight', Tensor.from([0.5, -0.5, 0.25, -0.25], [2, 2])],
    ['transformer.h.0.attn.c_attn.weight', Tensor.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 6])],
    ['transformer.h.0.attn.c_attn.bias', Tensor.from([0, 0, 0, 0, 0, 1], [6])],
    ['lm_head.weight', wte],
  ]);
}

const config = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 5, n_embd: 2, n_layer: 1, n_head: 1, tie_word_embeddings: true };
const tokenizerText = '{\n  "version": "1.0",\n  "model": { "type": "BPE", "vocab": { "a": 0 } }\n}\n';

test('save then load: config, weights, tokenizer and generation config come back as written', withTempDir((root) => {
  const dir = join(root, 'runs', 'gpt');
  const saved = saveModelFolder(dir, { config, stateDict: tinyStateDict(), tokenizerJson: tokenizerText, generationConfig: { max_new_tokens: 20 } });
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json']);
  assert.deepEqual(saved.files.map((path) => path.slice(dir.length + 1)), ['model.safetensors', 'tokenizer.json', 'generation_config.json', 'config.json']);
  assert.equal(readFileSync(join(dir, 'tokenizer.json'), 'utf8'), tokenizerText, 'tokenizer text is written as given');

  const loaded = loadModelFolder(dir, { requireTokenizer: true });
  assert.deepEqual(loaded.config, config);
  assert.deepEqual(loaded.generationConfig, { max_new_tokens: 20 });
  assert.equal(loaded.tokenizerJson, tokenizerText);
  assert.deepEqual(loaded.tokenizer, JSON.parse(tokenizerText));
  assert.deepEqual(loaded.metadata, { format: 'pt' }, 'transformers requires format "pt" in the metadata');
  assert.equal(loaded.otherTensors.size, 0);
  for (const [name, tensor] of tinyStateDict()) {
    if (name === 'lm_head.weight') continue;
    const back = loaded.tensors.get(name);
    assert.ok(back, `${name} is in the folder`);
    assert.deepEqual(back.shape, tensor.shape, `${name}: shape`);
    assert.deepEqual(back.toArray(), tensor.toArray(), `${name}: values`);
    assert.equal(back.dtype, 'float32');
  }
}));

test('tied weights are written once, under the first name, and nothing records the second (as HF GPT-2)', withTempDir((dir) => {
  const saved = saveModelFolder(dir, { config, stateDict: tinyStateDict() });
  assert.deepEqual([...saved.tiedNames], [['lm_head.weight', 'transformer.wte.weight']]);
  const { tensors, metadata } = loadSafetensors(join(dir, 'model.safetensors'));
  assert.equal(tensors.has('lm_head.weight'), false);
  assert.equal(tensors.has('transformer.wte.weight'), true);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.equal(readFileSync(join(dir, 'model.safetensors')).includes('lm_head'), false, 'no trace of the tied name in the file');
}));

test('untieStateDict: a view with the same storage and layout is tied; a different view of that storage is not', () => {
  const weight = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
  const sameLayout = new Tensor(weight.data, [2, 3]);
  const transposed = new Tensor(weight.data, [3, 2], [1, 3], 0);
  const copy = weight.contiguousCopy();
  const { unique, tiedNames } = untieStateDict({ weight, sameLayout, transposed, copy, again: weight });
  assert.deepEqual([...unique.keys()], ['weight', 'transposed', 'copy']);
  assert.deepEqual([...tiedNames], [['sameLayout', 'weight'], ['again', 'weight']]);
});

test('saving over an existing folder replaces its files and leaves no temporary files', withTempDir((dir) => {
  saveModelFolder(dir, { config, stateDict: tinyStateDict(), tokenizerJson: { version: '1.0' } });
  const stateDict = tinyStateDict();
  stateDict.set('transformer.wpe.weight', Tensor.from([9, 9, 9, 9], [2, 2]));
  saveModelFolder(dir, { config: { ...config, n_layer: 1, note: 'second' }, stateDict, metadata: { step: '10' } });
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
  const loaded = loadModelFolder(dir);
  assert.equal(loaded.config.note, 'second');
  assert.deepEqual(loaded.tensors.get('transformer.wpe.weight')!.toArray(), [9, 9, 9, 9]);
  assert.deepEqual(loaded.metadata, { format: 'pt', step: '10' });
  assert.deepEqual(loaded.tokenizer, { version: '1.0' }, 'a tokenizer saved as an object is read back');
}));

test('integer tensors in a folder are kept apart from the float Tensors', withTempDir((dir) => {
  // a checkpoint from elsewhere that keeps an integer buffer beside the weights
  saveSafetensors(join(dir, 'model.safetensors'), {
    'wte.weight': Tensor.from([1, 2], [1, 2]),
    position_ids: { dtype: 'I64', shape: [2], data: [0, 1] },
  }, { format: 'pt' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const loaded = loadModelFolder(dir);
  assert.equal(loaded.otherTensors.get('position_ids')!.dtype, 'I64');
  assert.deepEqual([...loaded.tensors.keys()], ['wte.weight']);
}));

test('a folder missing a file says which file, and what a model folder holds', withTempDir((root) => {
  const missing = (read: () => unknown, pattern: RegExp): void => {
    assert.throws(read, (error: unknown) => error instanceof QkvFileNotFoundError && pattern.test(error.message));
  };
  missing(() => loadModelFolder(join(root, 'nope')), /nope: model folder not found/);
  writeFileSync(join(root, 'file'), 'x');
  missing(() => loadModelFolder(join(root, 'file')), /file: is a file, not a model folder/);

  const dir = join(root, 'model');
  saveModelFolder(dir, { config, stateDict: tinyStateDict() });
  missing(() => loadModelFolder(dir, { requireTokenizer: true }), /model\/tokenizer\.json: missing from the model folder \(a model folder holds config\.json, model\.safetensors, tokenizer\.json, generation_config\.json\)/);
  assert.equal(loadModelFolder(dir).tokenizerJson, undefined, 'without requireTokenizer a missing tokenizer is fine');

  unlinkSync(join(dir, 'model.safetensors'));
  missing(() => loadModelFolder(dir), /model\/model\.safetensors: missing from the model folder/);
  writeFileSync(join(dir, 'model.safetensors.index.json'), '{}');
  missing(() => loadModelFolder(dir), /model\.safetensors: missing.*sharded weights \(model\.safetensors\.index\.json\)/);

  unlinkSync(join(dir, 'config.json'));
  missing(() => loadModelFolder(dir), /model\/config\.json: missing from the model folder/);
}));

test('a malformed file in the folder is a format error naming that file', withTempDir((dir) => {
  saveModelFolder(dir, { config, stateDict: tinyStateDict(), tokenizerJson: tokenizerText });
  writeFileSync(join(dir, 'tokenizer.json'), '{"version": ');
  assert.throws(() => loadModelFolder(dir), (error: unknown) =>
    error instanceof QkvFormatError && error.file === join(dir, 'tokenizer.json') && /not valid JSON/.test(error.message));
  writeFileSync(join(dir, 'config.json'), '[]');
  assert.throws(() => loadModelFolder(dir), (error: unknown) =>
    error instanceof QkvFormatError && error.file === join(dir, 'config.json') && /expected a JSON object/.test(error.message));
}));
