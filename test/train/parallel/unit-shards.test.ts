import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GPT } from '../../../src/models/gpt.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { flatLayout } from '../../../src/train/parallel/flat-layout.ts';
import { shardUnits } from '../../../src/train/parallel/fsdp-shards.ts';
import { gatherSegments, planUnitShards, scatterSegments } from '../../../src/train/parallel/unit-shards.ts';

const model = new GPT({ vocab_size: 50, n_layer: 3, n_embd: 16, n_head: 2, n_positions: 8 }, { rng: new Rng(0) });
const params = model.parameters().filter((p) => p.requiresGrad);
const layout = flatLayout(params.map((p) => p.size), 300);
const { root, blocks } = shardUnits(model, params, layout);

for (const worldSize of [2, 3]) {
  test(`${worldSize} ranks: every unit split evenly, the ranks' segments tile the flat vector once`, () => {
    const plans = Array.from({ length: worldSize }, (_, rank) => planUnitShards([root, ...blocks], layout, rank, worldSize));
    for (const [u, unit] of [root, ...blocks].entries()) {
      const sizes = plans.map((plan) => plan.units[u].piece[1] - plan.units[u].piece[0]);
      assert.equal(sizes.reduce((a, b) => a + b, 0), unit.elements);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unit ${u} pieces ${sizes}`); // even, not one or two owners
    }
    // Independent check: mark each flat element by owner; each is owned exactly once.
    const owners = new Int32Array(layout.length).fill(-1);
    for (const [rank, plan] of plans.entries()) {
      assert.equal(plan.segments.reduce((n, [a, b]) => n + b - a, 0), plan.length);
      for (const [a, b] of plan.segments) for (let i = a; i < b; i++) {
        assert.equal(owners[i], -1, `element ${i} owned twice`);
        owners[i] = rank;
      }
    }
    assert.ok(owners.every((o) => o >= 0));
    // Round trip: packing each rank's segments and scattering them back rebuilds the vector.
    const full = Float32Array.from({ length: layout.length }, (_, i) => i + 0.5);
    const rebuilt = new Float32Array(layout.length);
    for (const plan of plans) scatterSegments(gatherSegments(full, plan.segments), plan.segments, rebuilt);
    assert.deepEqual(rebuilt, full);
  });
}
