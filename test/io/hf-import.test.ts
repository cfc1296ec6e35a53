import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, unlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importHuggingFace } from '../../src/io/hf-import.ts';
import { fromBfloat16Bits, fromFloat16Bits, toBfloat16Bits, toFloat16Bits } from '../../src/io/half.ts';
import { saveSafetensors } from '../../src/io/safetensors.ts';
import { loadShardedSafetensors } from '../../src/io/safetensors-shards.ts';
import { GPT } from '../../src/models/gpt.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { Llama } from '../../src/models/llama.ts';
import { saveLlama } from '../../src/models/llama-folder.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const tokenizer = trainCharTokenizer('abcdefgh ');
const ids = Tensor.from([[1, 2, 3, 4, 5]]);

/** Rewrites a folder's weights as two shards of `dtype` plus the index, as transformers does. */
function shard(dir: string, model: GPT | Llama, dtype: 'F16' | 'BF16', dropName?: string): Map<string, Float32Array> {
  const encode = dtype === 'F16' ? toFloat16Bits : toBfloat16Bits;
  const decode = dtype === 'F16' ? fromFloat16Bits : fromBfloat16Bits;
  const names = Object.keys(model.stateDict()).filter((name) => name !== 'lm_head.weight' || model instanceof Llama);
  const halves = [names.slice(0, Math.ceil(names.length / 2)), names.slice(Math.ceil(names.length / 2))];
  const weightMap: Record<string, string> = {};
  const rounded = new Map<string, Float32Array>();
  halves.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const tensors: Record<string, { dtype: 'F16' | 'BF16'; shape: readonly number[]; data: number[] }> = {};
    for (const name of part) {
      const t = model.stateDict()[name];
      const bits = Array.from(t.contiguousData(), (v) => encode(v));
      rounded.set(name, Float32Array.from(bits, (b) => decode(b)));
      weightMap[name] = file;
      if (name === dropName) continue;
      // on disk as the raw 16-bit values: the writer stores them as given, so write numbers that round-trip
      tensors[name] = { dtype, shape: t.shape, data: Array.from(bits, (b) => decode(b)) };
    }
    saveSafetensors(join(dir, file), tensors, { format: 'pt' });
  });
  unlinkSync(join(dir, 'model.safetensors'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return rounded;
}

test('importHuggingFace reads sharded F16 and BF16 GPT-2 and Llama folders into the matching model, values exact', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-hf-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const gpt = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 8 }, { rng: new Rng(1) });
  const llama = new Llama({ vocab_size: tokenizer.vocabSize, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, max_position_embeddings: 8 }, { rng: new Rng(2) });
  for (const [name, model, dtype] of [['gpt', gpt, 'F16'], ['llama', llama, 'BF16']] as const) {
    const dir = join(root, name);
    model instanceof GPT ? saveGPT(dir, model, tokenizer) : saveLlama(dir, model, tokenizer);
    const rounded = shard(dir, model, dtype);
    const imported = importHuggingFace(dir);
    assert.equal(imported.architecture, name === 'gpt' ? 'gpt2' : 'llama');
    const state = imported.model.stateDict();
    for (const [key, values] of rounded) assert.deepEqual([...state[key].contiguousData()], [...values], `${name} ${dtype}: ${key}`);
    const expected = noGrad(() => model.forward(ids).logits.contiguousData());
    const got = noGrad(() => imported.model.forward(ids).logits.contiguousData());
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
    assert.ok(worst < (dtype === 'F16' ? 1e-3 : 2e-2), `${name} ${dtype} logits off by ${worst}`);
  }
});

test('unknown architectures, missing shards and missing tensors are named', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-hf-bad-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const gpt = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 8 }, { rng: new Rng(1) });
  const dir = join(root, 'gpt');
  saveGPT(dir, gpt, tokenizer);
  shard(dir, gpt, 'F16', 'transformer.h.0.mlp.c_fc.weight');
  assert.throws(() => importHuggingFace(dir), /model-00002-of-00002\.safetensors: tensor "transformer\.h\.0\.mlp\.c_fc\.weight": missing: model\.safetensors\.index\.json says this shard holds it/);
  unlinkSync(join(dir, 'model-00001-of-00002.safetensors'));
  assert.throws(() => loadShardedSafetensors(dir), /model-00001-of-00002\.safetensors: shard listed in .* is missing/);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'mamba', architectures: ['MambaForCausalLM'] }));
  assert.throws(() => importHuggingFace(dir), /config\.json: model_type: architecture "mamba" is not supported; qkv imports gpt2 \(GPT2LMHeadModel, GPT2Model\); llama/);
  // a tensor the model needs that no file has: named by loadStateDict, with the folder
  const other = join(root, 'gpt-missing');
  saveGPT(other, gpt, tokenizer);
  const weights = Object.fromEntries(Object.entries(gpt.stateDict()).filter(([name]) => name !== 'transformer.ln_f.bias'));
  saveSafetensors(join(other, 'model.safetensors'), weights, { format: 'pt' });
  assert.throws(() => importHuggingFace(other), /gpt-missing: loadStateDict: missing keys: transformer\.ln_f\.bias/);
  writeFileSync(join(other, 'model.safetensors.index.json'), '{"weight_map": {"a": "../x.safetensors"}}');
  assert.throws(() => loadShardedSafetensors(other), /weight_map\["a"\]: expected a shard file name in the same folder/);
});

test('importHuggingFaceModel reads a sharded BF16 BERT (BertForMaskedLM) folder; importHuggingFace refuses it as not a causal LM', async (t) => {
  const { BertForMaskedLM } = await import('../../src/models/bert-heads.ts');
  const { saveBert } = await import('../../src/models/bert-folder.ts');
  const { importHuggingFaceModel } = await import('../../src/io/hf-import.ts');
  const root = mkdtempSync(join(tmpdir(), 'qkv-hf-bert-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const bert = new BertForMaskedLM({ vocab_size: tokenizer.vocabSize, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 8 });
  bert.eval();
  saveBert(root, bert, tokenizer);
  const saved = Object.keys(bert.stateDict()).filter((name) => name !== 'cls.predictions.decoder.weight');
  const weightMap: Record<string, string> = {};
  const shards: Record<string, Record<string, { dtype: 'BF16'; shape: readonly number[]; data: number[] }>> = { 'model-00001-of-00002.safetensors': {}, 'model-00002-of-00002.safetensors': {} };
  saved.forEach((name, i) => {
    const file = i < saved.length / 2 ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors';
    const t = bert.stateDict()[name];
    shards[file][name] = { dtype: 'BF16', shape: t.shape, data: Array.from(t.contiguousData(), (v) => fromBfloat16Bits(toBfloat16Bits(v))) };
    weightMap[name] = file;
  });
  for (const [file, tensors] of Object.entries(shards)) saveSafetensors(join(root, file), tensors, { format: 'pt' });
  unlinkSync(join(root, 'model.safetensors'));
  writeFileSync(join(root, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const imported = importHuggingFaceModel(root);
  assert.equal(imported.architecture, 'bert');
  assert.ok(imported.model instanceof BertForMaskedLM);
  const state = imported.model.stateDict();
  for (const name of saved) {
    const expected = Array.from(bert.stateDict()[name].contiguousData(), (v) => fromBfloat16Bits(toBfloat16Bits(v)));
    assert.deepEqual([...state[name].contiguousData()], expected, name);
  }
  assert.throws(() => importHuggingFace(root), /a BERT encoder is not a causal LM/);
});
