import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensorsInto } from '../../src/io/safetensors-load.ts';
import { mapFile } from '../../src/kernels/native/index.ts';
import { loadGPT, saveGPT } from '../../src/models/gpt-folder.ts';
import { GPT } from '../../src/models/gpt.ts';
import { loadLlama, saveLlama } from '../../src/models/llama-folder.ts';
import { Llama } from '../../src/models/llama.ts';
import { Linear } from '../../src/nn/linear.ts';
import type { Module } from '../../src/nn/module.ts';
import { AdamW } from '../../src/optim/adam.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const dir = mkdtempSync(join(tmpdir(), 'qkv-mmap-'));
const tokenizer = trainCharTokenizer('hello world', { specialTokens: ['<|endoftext|>'] });
// The mapped path needs an addon built with mmap.cc; without one, loading reads (tested below too).
const canMap = (() => {
  const probe = join(dir, 'probe');
  writeFileSync(probe, 'x');
  return mapFile(probe) !== null;
})();
const needsMap = canMap ? {} : { skip: 'the native addon here has no mapFile (built without mmap.cc)' };

/** Loads with QKV_MMAP set to `value` (the loaders' default is read from it at each load). */
function withMmap<T>(value: '0' | '1', load: () => T): T {
  const before = process.env.QKV_MMAP;
  process.env.QKV_MMAP = value;
  try {
    return load();
  } finally {
    if (before === undefined) delete process.env.QKV_MMAP;
    else process.env.QKV_MMAP = before;
  }
}

/** Same names and the same bits in every state tensor, the first difference named. */
function assertSameBits(expected: Module, actual: Module): void {
  const want = expected.stateDict();
  const got = actual.stateDict();
  assert.deepEqual(Object.keys(got), Object.keys(want));
  for (const [name, tensor] of Object.entries(want)) {
    const a = new Uint32Array(Float32Array.from(tensor.contiguousData()).buffer);
    const b = new Uint32Array(Float32Array.from(got[name].contiguousData()).buffer);
    const first = a.findIndex((bits, i) => bits !== b[i]);
    if (first >= 0 || a.length !== b.length) assert.fail(`${name}[${first}]: copied 0x${a[first]?.toString(16)}, mapped 0x${b[first]?.toString(16)}`);
  }
}

/** How many state tensors of `model` have storage on an external buffer of `fileBytes` bytes (the mapping). */
function mappedCount(model: Module, fileBytes: number): number {
  return Object.values(model.stateDict()).filter((t) => t.data.buffer.byteLength === fileBytes).length;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('a GPT folder loads mapped with the bits of the copying loader; training it leaves the file unchanged (MAP_PRIVATE)', needsMap, () => {
  const saved = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 8 }, { rng: new Rng(5) });
  const folder = join(dir, 'gpt');
  saveGPT(folder, saved, tokenizer);
  const weights = join(folder, 'model.safetensors');
  const fileBytes = readFileSync(weights).byteLength;
  const copied = withMmap('0', () => loadGPT(folder)).model as GPT;
  const mapped = withMmap('1', () => loadGPT(folder)).model as GPT;
  assert.equal(mappedCount(copied, fileBytes), 0);
  assert.ok(mappedCount(mapped, fileBytes) > 0, 'no tensor was mapped');
  assertSameBits(copied, mapped);
  // The tied embedding / LM head (one Parameter, wte) now lives on the mapping.
  assert.equal(mapped.transformer.wte.weight.data.buffer.byteLength, fileBytes);

  const before = sha(weights);
  const ids = Tensor.from([[1, 2, 3, 4, 5, 6, 7, 0]]);
  const targets = [2, 3, 4, 5, 6, 7, 0, 1];
  const runSteps = (model: GPT) => {
    const optimiser = new AdamW(model.parameters(), { lr: 1e-2 });
    for (let step = 0; step < 3; step++) {
      optimiser.zeroGrad();
      model.forward(ids, { targets }).loss!.backward();
      optimiser.step();
    }
  };
  runSteps(copied);
  runSteps(mapped);
  // Training the mapped model changed its weights exactly as it changed the copied one's…
  assertSameBits(copied, mapped);
  assert.notEqual(mapped.transformer.wte.weight.data[0], saved.transformer.wte.weight.data[0]);
  // …and not the file.
  assert.equal(sha(weights), before);
  assertSameBits(saved, withMmap('0', () => loadGPT(folder)).model as GPT);
});

for (const tie_word_embeddings of [false, true]) {
  test(`a Llama folder (tied ${tie_word_embeddings}) loads mapped with the bits of the copying loader`, needsMap, () => {
    const saved = new Llama({ vocab_size: tokenizer.vocabSize, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings }, { rng: new Rng(6) });
    const folder = join(dir, `llama-${tie_word_embeddings}`);
    saveLlama(folder, saved, tokenizer);
    const fileBytes = readFileSync(join(folder, 'model.safetensors')).byteLength;
    const copied = withMmap('0', () => loadLlama(folder)).model;
    const mapped = withMmap('1', () => loadLlama(folder)).model;
    assert.ok(mappedCount(mapped, fileBytes) > 0, 'no tensor was mapped');
    assertSameBits(copied, mapped);
    assertSameBits(saved, mapped);
  });
}

/** A safetensors file written by hand: one F32 tensor `w`, the header padded with `pad` spaces (8 + header length sets the alignment). */
function handWritten(path: string, values: Float32Array, shape: number[], pad: number): void {
  const json = JSON.stringify({ w: { dtype: 'F32', shape, data_offsets: [0, values.byteLength] } }) + ' '.repeat(pad);
  const header = Buffer.from(json, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(path, Buffer.concat([length, header, Buffer.from(values.buffer)]));
}

test('an F32 tensor at a 4-byte aligned offset is mapped; a misaligned one falls back to reading, same values', needsMap, () => {
  const values = Float32Array.from({ length: 12 }, (_, i) => Math.fround(i * 0.37 - 1.5));
  const base = JSON.stringify({ w: { dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] } }).length;
  for (const misalignment of [0, 1, 2, 3]) {
    const path = join(dir, `hand-${misalignment}.safetensors`);
    const pad = (4 - ((8 + base) % 4) + misalignment) % 4;
    handWritten(path, values, [3, 4], pad);
    const layer = new Linear(4, 3, { bias: false });
    const result = loadSafetensorsInto(path, new Map([['w', layer.stateDict().weight]]), { mmap: true });
    assert.deepEqual(result.mapped, misalignment === 0 ? ['w'] : [], `misalignment ${misalignment}`);
    assert.deepEqual([...layer.weight.data], [...values]);
    assert.equal(layer.weight.data.buffer.byteLength === readFileSync(path).byteLength, misalignment === 0);
  }
});

test('targets that are not stateDict() views are read into, not replaced', needsMap, () => {
  const values = Float32Array.from({ length: 12 }, (_, i) => i);
  const path = join(dir, 'plain-target.safetensors');
  handWritten(path, values, [3, 4], (4 - ((8 + JSON.stringify({ w: { dtype: 'F32', shape: [3, 4], data_offsets: [0, 48] } }).length) % 4)) % 4);
  const target = Tensor.zeros([3, 4]);
  const storage = target.data;
  const result = loadSafetensorsInto(path, new Map([['w', target]]), { mmap: true });
  assert.deepEqual(result.mapped, []);
  assert.equal(target.data, storage);
  assert.deepEqual([...target.data], [...values]);
});

test('a truncated file gives the same typed error mapped as read', () => {
  const folder = join(dir, 'truncated');
  saveGPT(folder, new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 4 }, { rng: new Rng(2) }), tokenizer);
  const weights = join(folder, 'model.safetensors');
  truncateSync(weights, readFileSync(weights).byteLength - 10);
  const errorOf = (value: '0' | '1') => {
    try {
      withMmap(value, () => loadGPT(folder));
    } catch (error) {
      return error as Error;
    }
    return assert.fail('loading a truncated file did not throw');
  };
  const read = errorOf('0');
  const mapped = errorOf('1');
  assert.equal(mapped.constructor, read.constructor);
  assert.equal(mapped.message, read.message);
  assert.match(mapped.message, /model\.safetensors/);
});
