import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fineTunePruned, magnitudePrune, measuredSparsity, prunableWeights } from '../../src/compress/prune-magnitude.ts';
import { headImportance, headImportanceGradient, headMaskGradients, leastImportantHeads, pruneHeads, PrunedSelfAttention } from '../../src/compress/prune-heads.ts';
import { savePrunedGPT } from '../../src/compress/pruned-folder.ts';
import { GPT } from '../../src/models/gpt.ts';
import { loadCausalLM } from '../../src/models/load.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { TokenDataset } from '../../src/train/data.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

const text = 'abcabdabcabdaabbccdd '.repeat(30);
const tokenizer = trainCharTokenizer(text);
const tinyGPT = (seed: number) => new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 16, n_head: 4, n_positions: 16 }, { rng: new Rng(seed) });

test('magnitude pruning to s leaves exactly round(s·n) zeros, and they are the smallest |w| (global and per layer)', () => {
  for (const scope of ['global', 'per-layer'] as const) {
    const model = tinyGPT(1);
    const weights = prunableWeights(model);
    const original = new Map([...weights].map(([name, w]) => [name, Float32Array.from(w.data)]));
    const total = [...weights.values()].reduce((n, w) => n + w.size, 0);
    const { sparsity, layerSparsity } = magnitudePrune(model, { sparsity: 0.37, scope });
    // global: round(s·N) of all N weights; per layer: round(s·n) of each matrix's n
    const zeros = scope === 'global' ? Math.round(0.37 * total) : [...weights.values()].reduce((n, w) => n + Math.round(0.37 * w.size), 0);
    assert.equal(sparsity, zeros / total);
    assert.equal(measuredSparsity(model), zeros / total, `${scope}: zeros counted in the weights`);
    const groups = scope === 'global' ? [[...weights.keys()]] : [...weights.keys()].map((name) => [name]);
    for (const group of groups) {
      let largestPruned = 0;
      let smallestKept = Infinity;
      for (const name of group) {
        const after = weights.get(name)!.data;
        original.get(name)!.forEach((value, i) => {
          if (after[i] === 0) largestPruned = Math.max(largestPruned, Math.abs(value));
          else smallestKept = Math.min(smallestKept, Math.abs(value));
        });
        if (scope === 'per-layer') assert.equal(layerSparsity[name], Math.round(0.37 * after.length) / after.length, name);
      }
      assert.ok(largestPruned <= smallestKept, `${scope} ${group[0]}: pruned ${largestPruned} > kept ${smallestKept}`);
    }
  }
});

test('fine-tuning after pruning keeps the sparsity and lowers the loss', async () => {
  const model = tinyGPT(2);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.2);
  const { masks, sparsity } = magnitudePrune(model, { sparsity: 0.5 });
  const summary = await fineTunePruned(model, masks, dataset, { steps: 12, batchSize: 4, blockSize: 16, learningRate: 1e-2, evalBatches: 2 });
  assert.equal(measuredSparsity(model), sparsity);
  assert.ok(summary.history.at(-1)!.loss < summary.history[0].loss, `loss ${summary.history[0].loss} → ${summary.history.at(-1)!.loss}`);
});

test('head pruning removes the heads from the weights and keeps the unpruned heads\' outputs', () => {
  const model = tinyGPT(3);
  model.eval();
  const x = Tensor.randn([2, 5, 16], { rng: new Rng(4) });
  const attention = model.transformer.h[0].attn;
  const before = noGrad(() => {
    attention.forward(x, undefined, true);
    return attention.attentionWeights!;
  });
  // reference: the full module with heads 1 and 2 silenced (their c_proj rows zeroed, hs = 4)
  const silenced = noGrad(() => {
    const rows = attention.c_proj.weight.data;
    const saved = Float32Array.from(rows);
    rows.fill(0, 4 * 16, 12 * 16);
    const out = attention.forward(x).contiguousData();
    rows.set(saved);
    return out;
  });
  pruneHeads(model, { 0: [1, 2] });
  const pruned = model.transformer.h[0].attn as unknown as PrunedSelfAttention;
  assert.ok(pruned instanceof PrunedSelfAttention);
  assert.deepEqual(pruned.c_attn.weight.shape, [16, 24]); // 3 · 2 heads · hs 4
  assert.deepEqual(pruned.c_proj.weight.shape, [8, 16]);
  const after = noGrad(() => pruned.forward(x, undefined, true));
  const got = after.contiguousData();
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - silenced[i]) < 1e-6, `output ${i}: ${got[i]} vs ${silenced[i]}`);
  // the kept heads (0 and 3) attend exactly as before
  const weightsAfter = pruned.attentionWeights!;
  for (const [slot, head] of [[0, 0], [1, 3]]) {
    for (let b = 0; b < 2; b++) for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
      assert.ok(Math.abs(weightsAfter.get(b, slot, i, j) - before.get(b, head, i, j)) < 1e-6, `head ${head} weight (${b},${i},${j})`);
    }
  }
});

test('head importance by loss change: a silenced head scores 0 and goes first; the pruned folder round-trips with pruned_heads', (t) => {
  const model = tinyGPT(5);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.2);
  const rng = new Rng(6);
  const batches = [dataset.sampleBatch('validation', 4, 16, rng)];
  model.transformer.h[1].attn.c_proj.weight.data.fill(0, 2 * 4 * 16, 3 * 4 * 16); // head 2 of layer 1 says nothing
  const scores = headImportance(model, batches);
  assert.equal(scores[1][2], 0);
  const plan = leastImportantHeads(scores, 3);
  assert.ok(plan[1]?.includes(2), JSON.stringify(plan));
  assert.equal(Object.values(plan).flat().length, 3);
  const beforeLoss = noGrad(() => model.forward(batches[0].ids, { targets: batches[0].targets }).loss!.item());
  pruneHeads(model, { 1: [2] });
  const afterLoss = noGrad(() => model.forward(batches[0].ids, { targets: batches[0].targets }).loss!.item());
  assert.ok(Math.abs(afterLoss - beforeLoss) < 1e-5, 'removing a silent head changes nothing');
  const dir = mkdtempSync(join(tmpdir(), 'qkv-prune-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  savePrunedGPT(dir, model, tokenizer);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).pruned_heads, { 1: [2] });
  const loaded = loadCausalLM(dir).model as GPT;
  const reloadedLoss = noGrad(() => loaded.forward(batches[0].ids, { targets: batches[0].targets }).loss!.item());
  assert.equal(reloadedLoss, afterLoss);
  assert.throws(() => leastImportantHeads([[0.1], [0.2]], 1), /only 0 heads can go/);
  assert.throws(() => pruneHeads(model, { 0: [7] }), /layer 0 has no head 7/);
});

test('gradient head importance: ∂L/∂ξ_h equals central finite differences of the loss in the head mask (float64, a pruned layer too)', () => {
  const model = tinyGPT(8).to('float64').eval();
  pruneHeads(model, { 1: [3] });
  // regression: the pruned layer was built in float32 inside a float64 model
  assert.equal(model.transformer.h[1].attn.c_proj.weight.dtype, 'float64');
  for (const p of model.parameters()) p.data.set(Float64Array.from(p.data, (v) => v * 10)); // larger weights: heads that matter
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.2);
  const batch = dataset.sampleBatch('validation', 2, 16, new Rng(9));
  const gradients = headMaskGradients(model, batch);
  assert.ok(Number.isNaN(gradients[1][3]), 'a removed head has no score');
  const loss = () => noGrad(() => model.forward(batch.ids, { targets: batch.targets }).loss!.item());
  const hs = 4, C = 16, eps = 1e-5;
  for (const [layer, slots] of [[0, [0, 1, 2, 3]], [1, [0, 1, 2]]] as const) {
    const rows = model.transformer.h[layer].attn.c_proj.weight.data;
    slots.forEach((slot) => {
      const head = layer === 1 ? [0, 1, 2][slot] : slot;
      const span = rows.subarray(slot * hs * C, (slot + 1) * hs * C);
      const saved = Float64Array.from(span);
      span.set(saved.map((v) => v * (1 + eps)));
      const up = loss();
      span.set(saved.map((v) => v * (1 - eps)));
      const down = loss();
      span.set(saved);
      const numeric = (up - down) / (2 * eps);
      assert.ok(Math.abs(gradients[layer][head] - numeric) <= 1e-6 + 1e-4 * Math.abs(numeric), `layer ${layer} head ${head}: ${gradients[layer][head]} vs ${numeric}`);
    });
  }
  assert.ok(gradients.flat().some((g) => Math.abs(g) > 1e-3), 'the check is not on vanishing gradients');
});

test('gradient head importance ranks a deliberately useless head (its value columns zero) lowest', () => {
  const model = tinyGPT(10);
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.2);
  const rng = new Rng(11);
  const batches = [dataset.sampleBatch('validation', 4, 16, rng), dataset.sampleBatch('validation', 4, 16, rng)];
  // layer 1, head 2: v = x·W_v + b_v with its hs = 4 value columns zero, so the head outputs 0
  const { weight, bias } = model.transformer.h[1].attn.c_attn; // (C, 3C): [q | k | v]
  for (let r = 0; r < 16; r++) weight.data.fill(0, r * 48 + 32 + 2 * 4, r * 48 + 32 + 3 * 4);
  bias.data.fill(0, 32 + 2 * 4, 32 + 3 * 4);
  for (const normalizeLayers of [false, true]) {
    const scores = headImportanceGradient(model, batches, { normalizeLayers });
    assert.equal(scores[1][2], 0);
    assert.ok(scores.flat().filter((_, i) => i !== 4 + 2).every((v) => v > 0), JSON.stringify(scores));
    assert.deepEqual(leastImportantHeads(scores, 1), { 1: [2] });
  }
  assert.ok(model.parameters().every((p) => p.grad === null), 'no gradient left behind');
  assert.throws(() => headImportanceGradient(model, []), /needs at least one batch/);
});
