// The preallocated KV cache (src/nn/kv-cache.ts) against growth by concatenation (the old way,
// KVCache { growth: 'concat' }): greedy decoding of a small GPT and a GQA Llama, and beam search of
// a Transformer (which reorders the caches every step), must give the same logits bit for bit,
// past the first buffer doubling (32 positions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beamSearch } from '../../src/generate/beam.ts';
import { GPT, KVCache } from '../../src/models/gpt.ts';
import { Llama } from '../../src/models/llama.ts';
import { Transformer, type TransformerDecodingState } from '../../src/models/transformer.ts';
import { TRANSFORMER_PRESETS } from '../../src/models/transformer-config.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const PROMPT = 5;
const STEPS = 35; // 40 positions: past the first buffer's 32

/** Greedy decoding of B = 2 rows; every step's logits (B, T, V), as float arrays. */
function greedyLogits(model: GPT | Llama, cache: KVCache, vocab: number): Float32Array[] {
  const rng = new Rng(3);
  const prompt = Array.from({ length: 2 * PROMPT }, () => Math.floor(rng.uniform() * vocab));
  let input = new Tensor(Float32Array.from(prompt), [2, PROMPT]);
  const steps: Float32Array[] = [];
  noGrad(() => {
    for (let step = 0; step < STEPS; step++) {
      const logits = model.forward(input, { cache }).logits; // (2, T, V)
      const data = logits.contiguousData() as Float32Array;
      steps.push(Float32Array.from(data));
      const T = logits.shape[1];
      const next = [0, 1].map((b) => {
        const row = data.subarray((b * T + T - 1) * vocab, (b * T + T) * vocab);
        return row.indexOf(Math.max(...row));
      });
      input = new Tensor(Float32Array.from(next), [2, 1]);
    }
  });
  return steps;
}

function assertSameSteps(buffered: Float32Array[], concatenated: Float32Array[], what: string): void {
  assert.equal(buffered.length, concatenated.length);
  for (let step = 0; step < buffered.length; step++) {
    const a = buffered[step], b = concatenated[step];
    for (let i = 0; i < a.length; i++) {
      if (!Object.is(a[i], b[i])) assert.fail(`${what}: step ${step}, logit ${i}: ${a[i]} (buffer) vs ${b[i]} (concat)`);
    }
  }
}

test('GPT greedy decoding: preallocated cache and concatenation give the same logits bit for bit; keys are views of a buffer doubled once', () => {
  const model = new GPT({ vocab_size: 50, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4 }, { rng: new Rng(1) }).eval();
  const cache = new KVCache(2);
  const buffered = greedyLogits(model, cache, 50);
  assertSameSteps(buffered, greedyLogits(model, new KVCache(2, { growth: 'concat' }), 50), 'GPT');
  const layer = cache.layers[0];
  assert.equal(cache.length, PROMPT + STEPS - 1);
  assert.equal(layer.keys!.data, layer.keyBuffer!.data); // a view, not a copy
  assert.deepEqual(layer.keyBuffer!.shape, [2, 4, 64, 8]); // 32, doubled once to 64
});

test('Llama (GQA, RoPE) greedy decoding: preallocated cache and concatenation give the same logits bit for bit', () => {
  const config = { vocab_size: 50, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 64, initializer_range: 0.1 };
  const model = new Llama(config, { rng: new Rng(1) }).eval();
  const cache = new KVCache(2);
  assertSameSteps(greedyLogits(model, cache, 50), greedyLogits(model, new KVCache(2, { growth: 'concat' }), 50), 'Llama');
  assert.deepEqual(cache.layers[1].valueBuffer!.shape, [2, 2, 64, 8]); // NHkv = 2 heads cached
});

test('Transformer beam search (caches reordered every step): the same hypotheses and scores with either growth', () => {
  const model = new Transformer({ vocab_size: 12, ...TRANSFORMER_PRESETS.tiny, pad_token_id: 0, bos_token_id: 1, eos_token_id: 2 }, { rng: new Rng(7) });
  const sources = Tensor.from([[5, 6, 7, 2], [8, 9, 2, 0]]);
  const options = { numBeams: 3, maxNewTokens: 40, lengthPenalty: 0, numReturnSequences: 3 };
  const buffered = beamSearch(model, sources, options);
  const start = model.startDecoding.bind(model);
  model.startDecoding = (ids: Tensor, beams?: number): TransformerDecodingState => {
    const state = start(ids, beams);
    for (const caches of state.caches) caches.self.growth = 'concat';
    return state;
  };
  const concatenated = beamSearch(model, sources, options);
  assert.deepEqual(buffered, concatenated);
});
