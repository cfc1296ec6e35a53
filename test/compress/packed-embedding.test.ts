/**
 * The token lookup of a quantised model on its packed tied head (QuantizedEmbedding): no float
 * (V, C) table, the same logits as the float-table path given the same (dequantised) rows.
 *
 * Oracles: the same model with the float table kept for the lookup (quantizeModel
 * `{ embedding: 'float' }`, the path before) and that table set to ggml's dequantisation of the
 * head (dequantizeMatrix, TypeScript): its logits must be equal bit for bit, with and without the
 * KV cache. GGUF: the packed load against `{ embedding: 'float' }` (the loader's old dequantised
 * table). Round trips: quantised folder (which holds no float embedding), old folders with one,
 * GGUF q8_0 (token_embd = the head's bytes) and f32 (token_embd = the dequantised rows exactly).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dequantizeMatrix, type QuantFormat } from '../../src/compress/formats.ts';
import { QuantizedEmbedding } from '../../src/compress/quantized-embedding.ts';
import { QuantizedLinear } from '../../src/compress/quantized-linear.ts';
import { modelSizeBytes, quantizeModel, saveQuantizedCausalLM } from '../../src/compress/quantize-model.ts';
import { modelStep } from '../../src/generate/lm.ts';
import { exportGguf, loadGgufModel } from '../../src/io/gguf-model.ts';
import { readGguf } from '../../src/io/gguf-reader.ts';
import { exportOnnxModel } from '../../src/io/onnx-decoder.ts';
import { loadSafetensors } from '../../src/io/safetensors.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { loadCausalLM } from '../../src/models/load.ts';
import { Embedding } from '../../src/nn/embedding.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const tokenizer = trainCharTokenizer('abcdefghijklmnopqrstuvwxyz .,');
const V = tokenizer.vocabSize;
const C = 64;
const WIDE = 128; // q4_g128 needs C a multiple of 128
const ids = Tensor.from([[1, 2, 3, 4, 5, 6, 7, 0, 9, 12], [3, 3, 8, 20, 1, 0, 0, 5, 2, 2]]);

const newGpt = (width = C): GPT => new GPT({ vocab_size: V, n_layer: 2, n_embd: width, n_head: 2, n_positions: 32 }, { rng: new Rng(3) });
const newLlama = (width = C): Llama => new Llama({ vocab_size: V, hidden_size: width, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true }, { rng: new Rng(4) });
const makers = [['gpt', newGpt], ['llama', newLlama]] as const;

const logitsOf = (model: GPT | Llama): Float32Array => noGrad(() => model.forward(ids).logits.contiguousData()) as Float32Array;
const tableOf = (model: GPT | Llama) => (model instanceof GPT ? model.transformer.wte : model.model.embed_tokens);
const tableKey = (model: GPT | Llama): string => (model instanceof GPT ? 'transformer.wte.weight' : 'model.embed_tokens.weight');

/** Greedy decode with the KV cache: each step's logits, concatenated. */
function decodeLogits(model: GPT | Llama, steps = 6): Float32Array[] {
  const step = modelStep(model, true);
  const tokens = [1, 2, 3];
  const out: Float32Array[] = [];
  for (let i = 0; i < steps; i++) {
    const logits = Float32Array.from(step(tokens));
    out.push(logits);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    tokens.push(best);
  }
  return out;
}

/** The float-table model of the old path, its table set to ggml's dequantisation of `packed`'s head. */
function floatTableTwin(make: () => GPT | Llama, format: QuantFormat, packed: GPT | Llama): GPT | Llama {
  const twin = make();
  quantizeModel(twin, format, { embedding: 'float' });
  const table = tableOf(twin);
  assert.ok(table instanceof Embedding, 'embedding: float keeps the Embedding');
  const head = packed.tied_lm_head as QuantizedLinear;
  table.weight.data.set(dequantizeMatrix(head.qweight));
  return twin;
}

for (const format of ['q8_0', 'q4_0', 'q4_g128'] as const satisfies readonly QuantFormat[]) {
  test(`quantizeModel ${format}: lookup on the packed head, no float table; logits = the float-table path's bit for bit (full forward and KV-cache decode); fewer bytes`, () => {
    const width = format === 'q4_g128' ? WIDE : C;
    for (const [name, makeAt] of makers) {
      const make = () => makeAt(width);
      const packed = make();
      const report = quantizeModel(packed, format);
      const table = tableOf(packed);
      const head = packed.tied_lm_head;
      assert.ok(table instanceof QuantizedEmbedding && head instanceof QuantizedLinear, `${name}: packed table and head`);
      assert.equal(table.qweight.data, head.qweight.data, `${name}: the lookup reads the head's own bytes, not a copy`);
      assert.equal(tableKey(packed) in packed.stateDict(), false, `${name}: no float table in the state dict`);
      const twin = floatTableTwin(make, format, packed);
      assert.equal(twin.numParameters() - packed.numParameters(), V * width, `${name}: V·C parameters fewer`);
      assert.deepEqual(logitsOf(packed), logitsOf(twin), `${name} ${format}: logits differ from the float-table path`);
      assert.deepEqual(decodeLogits(packed), decodeLogits(twin), `${name} ${format}: KV-cache decode differs`);
      assert.equal(modelSizeBytes(twin) - modelSizeBytes(packed), V * width * 4, `${name}: size drops by the float table`);
      assert.equal(report.sizeBytesAfter, modelSizeBytes(packed));
    }
  });
}

test('a quantised model refuses a forward with gradients on (QkvValueError naming it); { tiedHead: false } keeps the float Embedding', () => {
  for (const [name, makeAt] of makers) {
    const make = () => makeAt();
    const model = make();
    quantizeModel(model, 'q8_0');
    assert.throws(() => model.forward(ids, { targets: ids }), (e: unknown) => e instanceof QkvValueError && /QuantizedEmbedding: a q8_0 model is inference-only/.test(e.message), name);
    const kept = make();
    quantizeModel(kept, 'q8_0', { tiedHead: false });
    assert.ok(tableOf(kept) instanceof Embedding && kept.tied_lm_head === null, `${name}: tiedHead false`);
  }
  const table = new QuantizedEmbedding((() => { const m = newGpt(); quantizeModel(m, 'q8_0'); return (m.tied_lm_head as QuantizedLinear).qweight; })());
  noGrad(() => {
    assert.throws(() => table.forward([V]), /id \d+ at position 0 is out of range for a vocabulary of V=\d+/);
    assert.throws(() => table.forward([1.5]), /not an integer/);
    assert.deepEqual(table.forward(Tensor.from([[2, 0]])).shape, [1, 2, C]);
  });
});

test('round trips: quantised folder without a float table (and old folders with one), GGUF q8_0 on the same bytes, GGUF f32 = the dequantised rows, ONNX export', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-packed-embedding-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, makeAt] of makers) {
    const make = () => makeAt();
    const packed = make();
    quantizeModel(packed, 'q8_0');
    const expected = logitsOf(packed);
    const head = (packed.tied_lm_head as QuantizedLinear).qweight;

    // quantised folder: no float embedding in the file; loads packed, same logits
    const folder = join(dir, `${name}-q8`);
    saveQuantizedCausalLM(folder, packed, tokenizer);
    const names = [...loadSafetensors(join(folder, 'model.safetensors')).tensors.keys()];
    assert.ok(!names.some((n) => /(wte|embed_tokens)\.weight$/.test(n)), `${name}: folder holds ${names.join(', ')}`);
    const fromFolder = loadCausalLM(folder).model as GPT | Llama;
    assert.ok(tableOf(fromFolder) instanceof QuantizedEmbedding, `${name}: folder loads packed`);
    assert.deepEqual(logitsOf(fromFolder), expected, `${name}: folder logits`);

    // a folder written with the float table (as before) still loads, looking tokens up in it
    const old = make();
    quantizeModel(old, 'q8_0', { embedding: 'float' });
    saveQuantizedCausalLM(join(dir, `${name}-old`), old, tokenizer);
    const oldLoaded = loadCausalLM(join(dir, `${name}-old`)).model as GPT | Llama;
    assert.ok(tableOf(oldLoaded) instanceof Embedding, `${name}: old folder keeps its float table`);
    assert.deepEqual(logitsOf(oldLoaded), logitsOf(old), `${name}: old folder logits`);

    // GGUF q8_0: token_embd is the head's bytes; the packed load = the float-table load bit for bit
    const q8Path = join(dir, `${name}-q8.gguf`);
    exportGguf(q8Path, packed, tokenizer, { type: 'q8_0' });
    assert.deepEqual(Uint8Array.from(readGguf(q8Path).tensors.get('token_embd.weight')!.data), head.data, `${name}: token_embd bytes`);
    const fromGguf = loadGgufModel(q8Path).model;
    assert.ok(tableOf(fromGguf) instanceof QuantizedEmbedding, `${name}: GGUF q8_0 loads packed`);
    // not bit for bit: GGUF stores the norm epsilon as float32 (1e-5 → 9.99999975e-6), which the TypeScript norms read in float64
    const fromGgufLogits = logitsOf(fromGguf);
    assert.ok(fromGgufLogits.every((v, i) => Math.abs(v - expected[i]) <= 1e-5), `${name}: GGUF logits close to the quantised model's`);
    const withFloatTable = loadGgufModel(q8Path, { embedding: 'float' }).model;
    assert.ok(tableOf(withFloatTable) instanceof Embedding);
    assert.deepEqual(logitsOf(withFloatTable), logitsOf(fromGguf), `${name}: GGUF packed vs float-table load`);
    assert.equal(modelSizeBytes(withFloatTable) - modelSizeBytes(fromGguf), V * C * 4);

    // GGUF f32 from the packed model: the rows are ggml's dequantisation, exactly
    const f32Path = join(dir, `${name}-f32.gguf`);
    exportGguf(f32Path, packed, tokenizer, { type: 'f32' });
    const stored = readGguf(f32Path).tensors.get('token_embd.weight')!;
    assert.equal(stored.type, 'F32');
    assert.deepEqual(new Float32Array(Uint8Array.from(stored.data).buffer), dequantizeMatrix(head), `${name}: f32 token_embd`);

    // ONNX, float and packed graphs, build from the packed table (its Gather gets the dequantised rows)
    assert.ok(exportOnnxModel(packed).length > V * C * 4, `${name}: float ONNX holds the dequantised table`);
    assert.ok(exportOnnxModel(packed, { packQuantized: true }).length > 0);
  }
});
