import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gguf } from '@huggingface/gguf';
import { QuantizedLinear } from '../../src/compress/quantized-linear.ts';
import { exportGguf, loadGgufModel, permuteRotaryRows } from '../../src/io/gguf-model.ts';
import { parseGguf } from '../../src/io/gguf-reader.ts';
import { serializeGguf, writeGguf } from '../../src/io/gguf-writer.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainBpe } from '../../src/tokenizers/bpe-trainer.ts';

const text = 'the quick brown fox jumps over the lazy dog. '.repeat(10);
const tokenizer = trainBpe([text], { vocabSize: 290, specialTokens: ['<|endoftext|>'] });
const ids = Tensor.from([tokenizer.encodeIds('the quick brown fox')]);

function logits(model: GPT | Llama): Float32Array {
  return noGrad(() => model.forward(ids).logits.contiguousData()) as Float32Array;
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-gguf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the writer\'s header reads back in @huggingface/gguf (an independent parser): metadata, names, shapes, types, offsets', async (t) => {
  const dir = tempDir(t);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 16 }, { rng: new Rng(1) });
  const path = join(dir, 'm.gguf');
  exportGguf(path, model, tokenizer, { type: 'q8_0' });
  const { metadata, tensorInfos } = await gguf(path, { allowLocalFile: true });
  assert.equal(metadata.version, 3);
  assert.equal(metadata['general.architecture'], 'gpt2');
  assert.equal(metadata['gpt2.block_count' as 'general.architecture'], 1 as never);
  assert.equal(metadata['gpt2.embedding_length' as 'general.architecture'], 32 as never);
  assert.equal(metadata['tokenizer.ggml.model'], 'gpt2');
  assert.equal((metadata['tokenizer.ggml.tokens'] as string[]).length, tokenizer.vocabSize);
  const byName = new Map(tensorInfos.map((info) => [info.name, info]));
  assert.deepEqual(byName.get('token_embd.weight')!.shape.map(Number), [32, tokenizer.vocabSize]);
  assert.equal(byName.get('token_embd.weight')!.dtype, 8); // GGML_TYPE_Q8_0
  assert.deepEqual(byName.get('blk.0.attn_qkv.weight')!.shape.map(Number), [32, 96]);
  assert.equal(byName.get('blk.0.attn_norm.weight')!.dtype, 0); // F32
  assert.equal(byName.get('position_embd.weight')!.dtype, 0);
  for (const info of tensorInfos) assert.equal(Number(info.offset) % 32, 0, `${info.name} aligned`);
});

test('GGUF round trip: F32 and F16 give the model back (F32 exactly), Q8_0 layers come back packed on the same bytes', (t) => {
  const dir = tempDir(t);
  const gpt = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 32, n_head: 2, n_positions: 16 }, { rng: new Rng(2) });
  const llama = new Llama({ vocab_size: tokenizer.vocabSize, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16 }, { rng: new Rng(3) });
  for (const model of [gpt, llama]) {
    const name = model.constructor.name;
    const expected = logits(model);
    exportGguf(join(dir, 'f32.gguf'), model, tokenizer);
    const back = loadGgufModel(join(dir, 'f32.gguf'));
    assert.equal(back.model.constructor.name, name);
    assert.deepEqual([...logits(back.model)], [...expected], `${name} F32`);
    assert.deepEqual(back.tokenizer.encodeIds(text), tokenizer.encodeIds(text));
    exportGguf(join(dir, 'f16.gguf'), model, tokenizer, { type: 'f16' });
    assert.ok(maxDifference(logits(loadGgufModel(join(dir, 'f16.gguf')).model), expected) < 1e-3, `${name} F16`);
    exportGguf(join(dir, 'q8.gguf'), model, tokenizer, { type: 'q8_0' });
    const q8 = loadGgufModel(join(dir, 'q8.gguf')).model;
    assert.ok(q8.namedModules().some(([, m]) => m instanceof QuantizedLinear), `${name}: Q8_0 layers stay packed`);
    const error = maxDifference(logits(q8), expected);
    assert.ok(error > 0 && error < 0.05, `${name} Q8_0 max logit error ${error}`);
  }
});

test('the RoPE row permutation (HF rotate-half → ggml interleaved) by hand, and its inverse', () => {
  // one head of 4 rows (hs 4, pairs (0,2) and (1,3) in HF) of one column: ggml order is 0, 2, 1, 3
  assert.deepEqual([...permuteRotaryRows(Float32Array.from([0, 1, 2, 3]), 1, 1)], [0, 2, 1, 3]);
  const values = Float32Array.from({ length: 2 * 8 * 3 }, (_, i) => i);
  assert.deepEqual([...permuteRotaryRows(permuteRotaryRows(values, 2, 3), 2, 3, true)], [...values]);
});

test('malformed GGUF files are refused with the file and the field or tensor named', (t) => {
  const dir = tempDir(t);
  const good = serializeGguf({
    metadata: { 'general.architecture': 'gpt2', 'x.count': { type: 'UINT32', value: 3 } },
    tensors: [{ name: 'w', type: 'F32', dims: [4, 2], data: new Uint8Array(32) }],
  });
  const parsed = parseGguf(good, 'good.gguf');
  assert.equal(parsed.metadata.get('x.count'), 3);
  assert.deepEqual(parsed.tensors.get('w')!.dims, [4, 2]);
  const badMagic = Uint8Array.from(good);
  badMagic[0] = 0x58;
  assert.throws(() => parseGguf(badMagic, 'bad.gguf'), /bad\.gguf: magic: expected "GGUF"/);
  assert.throws(() => parseGguf(good.subarray(0, good.length - 8), 'cut.gguf'), /cut\.gguf: tensor "w": data \[0, 32\) runs past the end .*truncated/);
  assert.throws(() => parseGguf(good.subarray(0, 30), 'short.gguf'), /short\.gguf: .*truncated/);
  const badType = Uint8Array.from(good);
  // tensor info of "w": name (u64 length 1, 'w'), n_dims u32, ne 2 × u64, then the ggml type u32
  const typeAt = Buffer.from(good).indexOf(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0x77])) + 9 + 4 + 16;
  badType.set([9, 0, 0, 0], typeAt);
  assert.throws(() => parseGguf(badType, 'type.gguf'), /type\.gguf: tensor "w": ggml type 9 is not supported/);
  writeFileSync(join(dir, 'empty-tensors.gguf'), serializeGguf({ metadata: { 'general.architecture': 'gpt2', 'tokenizer.huggingface.json': JSON.stringify({}) }, tensors: [] }));
  assert.throws(() => loadGgufModel(join(dir, 'empty-tensors.gguf')), /empty-tensors\.gguf/);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 16 }, { rng: new Rng(1) });
  exportGguf(join(dir, 'm.gguf'), model, tokenizer);
  const bytes = readFileSync(join(dir, 'm.gguf'));
  const renamed = Buffer.from(bytes);
  renamed.write('blk.0.ffn_up.weigXt', bytes.indexOf('blk.0.ffn_up.weight'));
  writeFileSync(join(dir, 'renamed.gguf'), renamed);
  assert.throws(() => loadGgufModel(join(dir, 'renamed.gguf')), /renamed\.gguf: tensor "blk\.0\.ffn_up\.weight": missing/);
});

test('a half-written export never replaces a good file (atomic write; the temporary file is removed)', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'model.gguf');
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 16 }, { rng: new Rng(1) });
  exportGguf(path, model, tokenizer);
  const before = readFileSync(path);
  assert.throws(() => writeGguf(path, {
    metadata: { 'general.architecture': 'gpt2' },
    tensors: [
      { name: 'a', type: 'F32', dims: [8], data: new Uint8Array(32) },
      { name: 'b', type: 'F32', dims: [8], data: () => { throw new Error('disk full (simulated)'); } },
    ],
  }), /disk full/);
  assert.ok(existsSync(path));
  assert.ok(readFileSync(path).equals(before), 'the good file is untouched');
  assert.deepEqual(readdirSync(dir), ['model.gguf']);
});
