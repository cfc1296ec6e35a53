import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GPT } from '../../../src/models/gpt.ts';
import { Rng } from '../../../src/tensor/random.ts';
import { Tensor } from '../../../src/tensor/tensor.ts';
import { flatLayout } from '../../../src/train/parallel/flat-layout.ts';
import { SharedCollective } from '../../../src/train/parallel/collective.ts';
import { GradientReadyHooks } from '../../../src/train/parallel/gradient-ready.ts';
import { OverlappedAllReduce, REDUCE_CHUNK_ELEMENTS } from '../../../src/train/parallel/overlapped-all-reduce.ts';
import { medianTimings, StepTimer } from '../../../src/train/parallel/step-timer.ts';

test('StepTimer: nested phases are exclusive and sum to the step (fake clock, hand-worked)', () => {
  let now = 0;
  const timer = new StepTimer(() => now);
  timer.begin();
  now = 1; // 1 ms other
  timer.enter('forward');
  now = 4; // 3 ms forward
  timer.enter('gather');
  now = 6; // 2 ms gather
  timer.enter('wait');
  now = 10; // 4 ms wait
  timer.leave('wait');
  now = 11; // 1 more ms gather
  timer.leave('gather');
  now = 13; // 2 more ms forward
  timer.leave('forward');
  now = 20; // 7 more ms other
  const timing = timer.end(0);
  assert.deepEqual(timing, { rank: 0, step_ms: 20, forward_ms: 5, backward_ms: 0, grad_comm_ms: 0, gather_ms: 3, optimizer_ms: 0, wait_ms: 4, other_ms: 8 });
  timer.begin();
  timer.enter('backward');
  assert.throws(() => timer.leave('forward'), /leaving "forward" while "backward" is running/);
  assert.throws(() => timer.end(0), /ended inside "backward"/);
  const a = { ...timing, forward_ms: 1 };
  const b = { ...timing, forward_ms: 3 };
  const c = { ...timing, forward_ms: 2 };
  assert.equal(medianTimings([[a], [b], [c]])[0].forward_ms, 2);
});

test('GradientReadyHooks: each parameter reports once, inside backward, with its final gradient; last layers first; only when armed', () => {
  const model = new GPT({ vocab_size: 19, n_layer: 2, n_embd: 16, n_head: 2, n_positions: 12 }, { rng: new Rng(4) });
  const params = model.parameters();
  const ids = new Tensor(Float32Array.from({ length: 24 }, (_, i) => (i * 7) % 19), [2, 12]);
  const seen: { index: number; grad: Float32Array }[] = [];
  const hooks = new GradientReadyHooks(params, (index) => seen.push({ index, grad: params[index].grad!.toFloat32Array() }));
  // Micro-batch 1 unarmed (partial sums), micro-batch 2 armed: the reported gradients are the sums.
  model.forward(ids, { targets: ids }).loss!.backward();
  assert.equal(seen.length, 0);
  hooks.arm();
  model.forward(ids, { targets: ids }).loss!.backward();
  hooks.disarm();
  assert.equal(seen.length, params.length);
  assert.deepEqual(new Set(seen.map((s) => s.index)).size, params.length);
  for (const { index, grad } of seen) assert.deepEqual(grad, params[index].grad!.toFloat32Array(), `parameter ${index} changed after it reported`);
  // Backward finishes the last block before the first: what lets its bucket be reduced early.
  const names = model.namedParameters().map(([name]) => name);
  const order = seen.map((s) => names[s.index]);
  assert.ok(order.indexOf('transformer.h.1.mlp.c_proj.weight') < order.indexOf('transformer.h.0.attn.c_attn.weight'), order.join(' '));
  assert.equal(order.at(-1) === 'transformer.wte.weight' || order.at(-1) === 'transformer.wpe.weight', true, order.join(' '));
  const before = params[0].grad;
  hooks.detach();
  assert.equal(params[0].grad, before);
  assert.equal(Object.getOwnPropertyDescriptor(params[0], 'grad')!.writable, true);
});

test('OverlappedAllReduce: 2 and 3 ranks in one thread, published in any order, get the rank-ordered mean, over three steps', () => {
  // Sizes: a parameter larger than a bucket and than a reduce chunk, so both cuts are crossed.
  const sizes = [5, REDUCE_CHUNK_ELEMENTS + 7, 3, 11];
  const layout = flatLayout(sizes, REDUCE_CHUNK_ELEMENTS + 9);
  assert.ok(layout.buckets.length >= 3);
  for (const worldSize of [2, 3]) {
    const shared = OverlappedAllReduce.allocate(worldSize, layout);
    const ranks = Array.from({ length: worldSize }, (_, r) => new OverlappedAllReduce(shared, r, worldSize, layout));
    for (let step = 0; step < 3; step++) {
      const grads = ranks.map((_, r) => sizes.map((size, p) => Float32Array.from({ length: size }, (_, i) => Math.sin(1 + i * 0.37 + p * 1.3 + r * 2.1 + step * 0.7) / (r + 1))));
      const expected = sizes.map((size, p) => Float32Array.from({ length: size }, (_, i) => {
        let sum = 0;
        for (let r = 0; r < worldSize; r++) sum += grads[r][p][i];
        return sum * (1 / worldSize);
      }));
      ranks.forEach((reducer) => reducer.begin());
      // One thread, so no rank may wait: all but the last report every parameter (rank 0
      // backward-first, the others forward-first); the last reports two, publishes the rest in
      // finish() and, finding everything published, reduces every chunk; the others then only read back.
      const last = worldSize - 1;
      ranks.forEach((reducer, r) => {
        const ready: (Float32Array | null)[] = sizes.map(() => null);
        const order = r === last ? [3, 1] : r === 0 ? [3, 2, 1, 0] : [0, 1, 2, 3];
        for (const p of order) {
          ready[p] = grads[r][p];
          reducer.ready(p, ready);
        }
      });
      ranks[last].finish(grads[last]);
      ranks.slice(0, last).forEach((reducer, r) => reducer.finish(grads[r]));
      for (let r = 0; r < worldSize; r++) for (let p = 0; p < sizes.length; p++) assert.deepEqual(grads[r][p], expected[p], `world ${worldSize} step ${step} rank ${r} parameter ${p}`);
    }
  }
});

test('SharedCollective.allReduceMean with one rank leaves the gradients as they are and never copies them through shared memory', () => {
  const layout = flatLayout([6, 5], 4);
  const shared = SharedCollective.allocate(1, layout.bucketCapacity);
  const comm = new SharedCollective(shared, 0, 1, layout.bucketCapacity);
  const grads = [Float32Array.from([1, -2, 3, 4, 5, 6]), Float32Array.from([7, 8, -0, 10, 11])];
  comm.allReduceMean(layout, grads);
  assert.deepEqual(grads, [Float32Array.from([1, -2, 3, 4, 5, 6]), Float32Array.from([7, 8, -0, 10, 11])]);
  assert.ok(Object.is(grads[1][2], -0));
  assert.ok(new Float32Array(shared, 16 + 4 * 8).every((x) => x === 0), 'the gradients went through the shared slots');
});
