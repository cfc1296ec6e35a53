import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { pruneHeads } from '../../src/compress/prune-heads.ts';
import { exportOnnxModel } from '../../src/io/onnx-decoder.ts';
import { exportOnnxFolder, ONNX_MODEL_FILE } from '../../src/io/onnx-folder.ts';
import { GPT } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainBpe } from '../../src/tokenizers/bpe-trainer.ts';

const text = 'the quick brown fox jumps over the lazy dog. '.repeat(10);
const tokenizer = trainBpe([text], { vocabSize: 290, specialTokens: ['<|endoftext|>'] });

function int64(values: number[], dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

/** Runs the graph on `ids` after `past` cached positions; returns logits and the presents. */
async function run(session: ort.InferenceSession, ids: number[][], past: Record<string, ort.Tensor>, pastLength: number, layers: number, kvHeads: number[], hs: number) {
  const B = ids.length;
  const T = ids[0].length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: int64(ids.flat(), [B, T]),
    attention_mask: int64(new Array(B * (pastLength + T)).fill(1), [B, pastLength + T]),
    position_ids: int64(ids.flatMap(() => Array.from({ length: T }, (_, t) => pastLength + t)), [B, T]),
  };
  for (let i = 0; i < layers; i++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kind}`] = past[`present.${i}.${kind}`] ?? new ort.Tensor('float32', new Float32Array(0), [B, kvHeads[i], 0, hs]);
    }
  }
  return session.run(feeds);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < actual.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (error > worst) [worst, at] = [error, i];
  }
  assert.ok(worst <= tolerance, `${what}: logits differ by ${worst} at index ${at} (${actual[at]} vs ${expected[at]}), tolerance ${tolerance}`);
}

test('ONNX Runtime runs the exported GPT-2 / Llama (GQA) / head-pruned GPT-2 graphs: logits within 1e-4 of qkv, with and without the KV cache', async () => {
  const prunedGpt = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 32, n_head: 4, n_positions: 32 }, { rng: new Rng(4) });
  pruneHeads(prunedGpt, { 1: [0, 2] });
  const cases: [string, GPT | Llama, number[], number][] = [
    ['gpt2', new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 32, n_head: 2, n_positions: 32 }, { rng: new Rng(1) }), [2, 2], 16],
    ['gpt2 rope', new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 32, position: 'rope' }, { rng: new Rng(2) }), [2], 16],
    ['llama gqa', new Llama({ vocab_size: tokenizer.vocabSize, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32 }, { rng: new Rng(3) }), [2, 2], 8],
    ['gpt2 pruned heads', prunedGpt, [4, 2], 8],
  ];
  for (const [name, model, kvHeads, hs] of cases) {
    model.eval();
    const session = await ort.InferenceSession.create(exportOnnxModel(model));
    assert.ok(session.inputNames.includes('past_key_values.0.key') && session.outputNames.includes('present.0.value'), `${name}: cache inputs and outputs`);
    const all = tokenizer.encodeIds(text);
    const ids = [all.slice(0, 4), all.slice(7, 11)];
    const full = noGrad(() => model.forward(Tensor.from(ids)).logits.contiguousData());
    const first = await run(session, ids, {}, 0, kvHeads.length, kvHeads, hs);
    assertClose(first.logits.data as Float32Array, full, 1e-4, `${name} prompt`);
    // one more token through the cache, against qkv's full recompute of five tokens
    const next = ids.map((row) => [row[0]]);
    const longer = ids.map((row, b) => [...row, next[b][0]]);
    const expected = noGrad(() => model.forward(Tensor.from(longer)).logits.contiguousData());
    const V = tokenizer.vocabSize;
    const lastRows = Float32Array.from({ length: 2 * V }, (_, i) => expected[(Math.floor(i / V) * 5 + 4) * V + (i % V)]);
    const second = await run(session, next, first as Record<string, ort.Tensor>, 4, kvHeads.length, kvHeads, hs);
    assertClose(second.logits.data as Float32Array, lastRows, 1e-4, `${name} cached step`);
    await session.release();
  }
});

test('the ONNX folder has the Transformers.js layout; a broken graph is refused by ONNX Runtime; a failed export leaves the old file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-onnx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 32 }, { rng: new Rng(5) });
  exportOnnxFolder(dir, model, tokenizer);
  assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
  assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).model_type, 'gpt2');
  const good = readFileSync(join(dir, ONNX_MODEL_FILE));
  writeFileSync(join(dir, 'broken.onnx'), good.subarray(0, good.length >> 1));
  await assert.rejects(ort.InferenceSession.create(join(dir, 'broken.onnx')), /protobuf|parse|load|Failed/i);
  // a model the exporter cannot express fails before anything is written
  const alibi = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 32, n_head: 2, n_positions: 32, position: 'alibi' }, { rng: new Rng(6) });
  assert.throws(() => exportOnnxFolder(dir, alibi, tokenizer), /position "alibi" is not exported/);
  assert.ok(readFileSync(join(dir, ONNX_MODEL_FILE)).equals(good), 'the good graph is untouched');
});

test('ONNX Runtime runs the exported BERT encoder: hidden states within 1e-4 of qkv, padding and segments included', async () => {
  const { BertModel } = await import('../../src/models/bert.ts');
  const { exportBertOnnx } = await import('../../src/io/onnx-encoder.ts');
  const bert = new BertModel({ vocab_size: 50, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, max_position_embeddings: 16, layer_norm_eps: 1e-12 });
  bert.eval();
  const ids = [[2, 7, 9, 11, 3, 5], [2, 8, 3, 0, 0, 0]];
  const mask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]];
  const types = [[0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0]];
  const expected = noGrad(() => bert.forward(Tensor.from(ids), { attentionMask: Tensor.from(mask), tokenTypeIds: Tensor.from(types) }).lastHiddenState.contiguousData());
  const session = await ort.InferenceSession.create(exportBertOnnx(bert));
  const out = await session.run({ input_ids: int64(ids.flat(), [2, 6]), attention_mask: int64(mask.flat(), [2, 6]), token_type_ids: int64(types.flat(), [2, 6]) });
  assertClose(out.last_hidden_state.data as Float32Array, expected, 1e-4, 'bert last_hidden_state');
  await session.release();
});
