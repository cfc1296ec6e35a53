// backward({ releaseActivations }) hands a step's forward activations to the buffer pool, and
// backward sums gradients in place into buffers only it holds. Checked against plain backward
// (same weights, bit for bit), against hand-derived gradients, and for what must stay untouched:
// the loss, tensors in `keep`, parameters, inputs outside the graph.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GPT } from '../../src/models/gpt.ts';
import { AdamW } from '../../src/optim/index.ts';
import { bufferPoolStats, givePooled } from '../../src/tensor/buffer-pool.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const V = 50, B = 4, T = 32;

function train(release: boolean, onStep?: (step: number, logits: Tensor, loss: Tensor, ids: Tensor) => void): { hash: string; losses: number[] } {
  const model = new GPT({ vocab_size: V, n_layer: 2, n_embd: 32, n_head: 4, n_positions: T }, { rng: new Rng(7) });
  model.train();
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  const rng = new Rng(8);
  const losses: number[] = [];
  for (let step = 0; step < 4; step++) {
    const ids = Tensor.from(Array.from({ length: B * T }, () => Math.floor(rng.uniform() * V)), [B, T]);
    const { logits, loss } = model.forward(ids, { targets: ids });
    loss!.backward(release ? { releaseActivations: true, keep: [logits] } : {});
    losses.push(loss!.item());
    onStep?.(step, logits, loss!, ids);
    optimizer.step();
    optimizer.zeroGrad();
  }
  const hash = createHash('sha256');
  for (const p of model.parameters()) hash.update(new Uint8Array(p.contiguousData().buffer.slice(0)));
  return { hash: hash.digest('hex'), losses };
}

describe('backward releaseActivations', () => {
  it('trains to the same weights, bit for bit, as plain backward, and the next forward reuses the buffers', () => {
    const plain = train(false);
    const before = bufferPoolStats().reused;
    const released = train(true);
    assert.equal(released.hash, plain.hash);
    assert.deepEqual(released.losses, plain.losses);
    if (bufferPoolStats().enabled) assert.ok(bufferPoolStats().reused > before, 'no buffer was reused');
  });

  it('outputs taken from the pool without a zero-fill are written whole: a pool of NaN buffers changes no bit', () => {
    const plain = train(false);
    // Every activation and gradient size of this model (B·T·{C, 3C, 4C, V}, B·NH·T·T, the weights).
    for (const size of [1024, 1600, 3072, 4096, 6400, 12288, 16384]) {
      for (let copy = 0; copy < 12; copy++) givePooled(new Float32Array(size).fill(Number.NaN));
    }
    const poisoned = train(true);
    assert.deepEqual(poisoned.losses, plain.losses);
    assert.equal(poisoned.hash, plain.hash);
  });

  it('leaves the loss, the kept logits and the ids untouched while later steps reuse the pool', () => {
    const held: Array<{ logits: Tensor; logitsCopy: Float32Array; loss: Tensor; lossValue: number; ids: Tensor; idsCopy: Float32Array }> = [];
    train(true, (_step, logits, loss, ids) => {
      held.push({ logits, logitsCopy: Float32Array.from(logits.data), loss, lossValue: loss.item(), ids, idsCopy: Float32Array.from(ids.data) });
    });
    for (const [i, h] of held.entries()) {
      assert.deepEqual(Float32Array.from(h.logits.data), h.logitsCopy, `step ${i}: kept logits changed`);
      assert.equal(h.loss.item(), h.lossValue, `step ${i}: loss changed`);
      assert.deepEqual(Float32Array.from(h.ids.data), h.idsCopy, `step ${i}: ids changed`);
    }
  });

  it('releases an intermediate that is not kept, but never a leaf or a view of one', () => {
    const w = Tensor.randn([64, 32], { rng: new Rng(1), requiresGrad: true });
    const wCopy = Float32Array.from(w.data);
    const x = Tensor.randn([64, 64], { rng: new Rng(2) });
    const hidden = x.matmul(w.transpose(0, 1).transpose(0, 1)).relu(); // (64, 32), its own buffer
    const loss = hidden.sum();
    const before = bufferPoolStats().pooledBytes;
    loss.backward({ releaseActivations: true });
    if (bufferPoolStats().enabled) assert.ok(bufferPoolStats().pooledBytes > before, 'the activations did not reach the pool');
    assert.deepEqual(Float32Array.from(w.data), wCopy, 'the leaf changed');
    assert.ok(w.grad !== null && w.grad.data.buffer !== hidden.data.buffer);
  });
});

describe('backward: gradients summed in place', () => {
  it('three narrow pieces of one tensor (attention\'s q, k, v split) get their gradients in the right windows', () => {
    const x = Tensor.randn([8, 3 * 512], { rng: new Rng(3), requiresGrad: true });
    const [a, b, c] = x.split(512, 1);
    // d/dx of Σ(1·a + 2·b + 3·c) = 1, 2, 3 in the three windows.
    a.add(b.mul(2)).add(c.mul(3)).sum().backward();
    const grad = x.grad!.tolist() as number[][];
    for (const row of grad) row.forEach((value, column) => assert.equal(value, 1 + Math.floor(column / 512)));
  });

  it('a gradient shared by two inputs (y + y) is not summed into itself', () => {
    const x = Tensor.randn([4096], { rng: new Rng(4), requiresGrad: true });
    const y = x.mul(3);
    y.add(y).add(y.mul(y)).sum().backward(); // d/dx (2y + y²) = 3·(2 + 2y)
    const expected = Array.from(y.data, (value) => Math.fround(3 * Math.fround(2 + Math.fround(2 * value))));
    x.grad!.toArray().forEach((value, i) => assert.ok(Math.abs(value - expected[i]) <= 1e-5 * Math.abs(expected[i]), `element ${i}: ${value} vs ${expected[i]}`));
  });
});
