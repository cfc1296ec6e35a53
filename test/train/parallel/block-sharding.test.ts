import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../../src/models/gpt.ts';
import { Llama } from '../../../src/models/llama.ts';
import type { CausalLM } from '../../../src/models/causal-lm.ts';
import { defaultRng, Rng } from '../../../src/tensor/random.ts';
import { Tensor, type Storage } from '../../../src/tensor/tensor.ts';
import { shardBlockForwards } from '../../../src/train/parallel/block-sharding.ts';
import { flatLayout } from '../../../src/train/parallel/flat-layout.ts';
import { shardUnits, transformerBlocks } from '../../../src/train/parallel/fsdp-shards.ts';

const ids = new Tensor(Float32Array.from({ length: 24 }, (_, i) => (i * 7) % 19), [2, 12]);
const targets = new Tensor(Float32Array.from({ length: 24 }, (_, i) => (i * 5 + 3) % 19), [2, 12]);

interface Trace {
  events: string[];
  /** Per block, the gradients reduce() saw (copies), by parameter index. */
  reduced: Map<number, Float32Array>;
  /** At each hook call, how many blocks held full parameters. */
  maxBlocksPresent: number;
}

/**
 * Runs one forward/backward with the block hooks, emulating a rank that owns everything: gather
 * puts the saved weights back, release empties the storage, reduce copies and drops the grads.
 */
function shardedStep(model: CausalLM, seed: number): { loss: number; trace: Trace; rootGrads: Map<number, Float32Array> } {
  const params = model.parameters().filter((p) => p.requiresGrad);
  const layout = flatLayout(params.map((p) => p.size));
  const { blocks } = shardUnits(model, params, layout);
  const saved = params.map((p) => p.data);
  const setData = (p: number, data: Storage): void => void ((params[p] as { data: Storage }).data = data);
  for (const unit of blocks) for (const p of unit.params) setData(p, new Float32Array(0));
  const trace: Trace = { events: [], reduced: new Map(), maxBlocksPresent: 0 };
  const present = (): number => blocks.filter((unit) => unit.params.some((p) => params[p].data.length > 0)).length;
  const restore = shardBlockForwards(transformerBlocks(model), {
    gather(b) {
      for (const p of blocks[b].params) setData(p, saved[p].slice());
      trace.events.push(`gather ${b}`);
      trace.maxBlocksPresent = Math.max(trace.maxBlocksPresent, present());
    },
    release(b) {
      for (const p of blocks[b].params) setData(p, new Float32Array(0));
      trace.events.push(`release ${b}`);
    },
    reduce(b) {
      trace.events.push(`reduce ${b}`);
      trace.maxBlocksPresent = Math.max(trace.maxBlocksPresent, present());
      // Full gradients of this block only: no other block has any at this point.
      const others = blocks.flatMap((unit, u) => (u === b ? [] : unit.params)).filter((p) => params[p].grad !== null);
      assert.deepEqual(others, [], `block ${b}'s reduce saw gradients of other blocks`);
      for (const p of blocks[b].params) {
        trace.reduced.set(p, params[p].grad!.toFloat32Array());
        params[p].grad = null;
      }
    },
  });
  try {
    defaultRng.seed(seed);
    const loss = model.forward(ids, { targets }).loss!;
    loss.backward();
    const rootGrads = new Map<number, Float32Array>();
    params.forEach((p, i) => p.grad !== null && rootGrads.set(i, p.grad.toFloat32Array()));
    return { loss: loss.item(), trace, rootGrads };
  } finally {
    restore();
    params.forEach((_, p) => setData(p, saved[p]));
  }
}

function plainStep(model: CausalLM, seed: number): { loss: number; grads: Float32Array[] } {
  const params = model.parameters().filter((p) => p.requiresGrad);
  defaultRng.seed(seed);
  const loss = model.forward(ids, { targets }).loss!;
  loss.backward();
  const grads = params.map((p) => p.grad!.toFloat32Array());
  for (const p of params) p.grad = null;
  return { loss: loss.item(), grads };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

const models: [string, () => CausalLM][] = [
  // Dropout on: the recomputed backward must replay the forward's masks.
  ['GPT with dropout', () => new GPT({ vocab_size: 19, n_layer: 3, n_embd: 16, n_head: 2, n_positions: 12, attn_pdrop: 0.2, resid_pdrop: 0.2 }, { rng: new Rng(5) })],
  ['GPT with a T5 bias shared by the blocks', () => new GPT({ vocab_size: 19, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 12, position: 'relative' }, { rng: new Rng(6) })],
  ['Llama', () => new Llama({ vocab_size: 19, num_hidden_layers: 2, hidden_size: 16, intermediate_size: 32, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 12 }, { rng: new Rng(7) })],
];

for (const [name, build] of models) {
  test(`shardBlockForwards (${name}): one block present at a time, gradients equal the unsharded model's`, () => {
    const model = build();
    const reference = plainStep(model, 11);
    const { loss, trace, rootGrads } = shardedStep(model, 11);
    const blockCount = transformerBlocks(model).length;
    assert.equal(loss, reference.loss);
    assert.equal(trace.maxBlocksPresent, 1);
    // Forward in order, backward in reverse, each block gathered twice and reduced once.
    const expected = [
      ...Array.from({ length: blockCount }, (_, b) => [`gather ${b}`, `release ${b}`]).flat(),
      ...Array.from({ length: blockCount }, (_, k) => blockCount - 1 - k).flatMap((b) => [`gather ${b}`, `reduce ${b}`, `release ${b}`]),
    ];
    assert.deepEqual(trace.events, expected);
    let worst = 0;
    reference.grads.forEach((grad, p) => {
      const got = trace.reduced.get(p) ?? rootGrads.get(p);
      assert.ok(got !== undefined, `parameter ${p} got no gradient`);
      worst = Math.max(worst, maxDiff(got, grad));
    });
    assert.ok(worst < 1e-6, `gradients differ by ${worst}`);
    assert.equal(trace.reduced.size + rootGrads.size, reference.grads.length);
  });
}

test('shardBlockForwards: restore puts the class forward back; a cached call is refused with a typed error', () => {
  const model = new GPT({ vocab_size: 19, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 12 }, { rng: new Rng(1) });
  const block = model.transformer.h[0];
  const restore = shardBlockForwards([block], { gather() {}, release() {}, reduce() {} });
  assert.ok(Object.hasOwn(block, 'forward'));
  assert.throws(() => model.forward(ids, { cache: model.newCache() }), /block 0 was called with a cache/);
  restore();
  assert.ok(!Object.hasOwn(block, 'forward'));
});

test('shardUnits: each GPT block is one contiguous flat range; the root holds the rest; every parameter in exactly one unit', () => {
  const model = new GPT({ vocab_size: 19, n_layer: 3, n_embd: 16, n_head: 2, n_positions: 12 }, { rng: new Rng(1) });
  const params = model.parameters();
  const layout = flatLayout(params.map((p) => p.size));
  const { root, blocks } = shardUnits(model, params, layout);
  const perBlock = 4 * 16 + (16 * 48 + 48) + (16 * 16 + 16) + (16 * 64 + 64) + (64 * 16 + 16); // ln_1, ln_2, c_attn, attn c_proj, c_fc, mlp c_proj
  assert.deepEqual(blocks.map((unit) => unit.elements), [perBlock, perBlock, perBlock]);
  blocks.forEach((unit) => assert.equal(unit.ranges.length, 1));
  assert.equal(root.elements, 19 * 16 + 12 * 16 + 2 * 16); // wte, wpe, ln_f
  const all = [...root.params, ...blocks.flatMap((unit) => unit.params)].sort((a, b) => a - b);
  assert.deepEqual(all, params.map((_, i) => i));
});
