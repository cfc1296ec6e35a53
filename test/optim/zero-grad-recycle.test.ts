// optimizer.zeroGrad({ recycle: true }): parameter gradients go back to the buffer pool for the next
// backward. Same weights bit for bit as dropping them, fewer fresh arrays, each buffer pooled once,
// and shared memory (the parallel workers' views) is never pooled.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GPT } from '../../src/models/gpt.ts';
import { AdamW } from '../../src/optim/index.ts';
import { bufferPoolStats, clearBufferPool, givePooled, takePooled } from '../../src/tensor/buffer-pool.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

/** Five AdamW steps of a small GPT; the weights' hash and the fresh bytes allocated after step 1. */
function train(recycle: boolean): { hash: string; freshBytes: number } {
  const V = 64, B = 4, T = 16;
  const model = new GPT({ vocab_size: V, n_layer: 2, n_embd: 64, n_head: 4, n_positions: T }, { rng: new Rng(7) });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  const rng = new Rng(8);
  const ids = Tensor.from(Array.from({ length: B * T }, () => Math.floor(rng.uniform() * V)), [B, T]);
  clearBufferPool();
  let freshAtStep1 = 0;
  for (let step = 0; step < 5; step++) {
    if (step === 1) freshAtStep1 = bufferPoolStats().freshBytes;
    const { loss } = model.forward(ids, { targets: ids });
    loss!.backward({ releaseActivations: true });
    optimizer.step();
    optimizer.zeroGrad({ recycle });
  }
  const hash = createHash('sha256');
  for (const p of model.parameters()) hash.update(new Uint8Array(p.contiguousData().buffer.slice(0)));
  return { hash: hash.digest('hex'), freshBytes: bufferPoolStats().freshBytes - freshAtStep1 };
}

describe('zeroGrad({ recycle: true })', () => {
  it('trains to the same bits as zeroGrad() while allocating less', { skip: !bufferPoolStats().enabled && 'QKV_BUFFER_POOL=0' }, () => {
    const dropped = train(false);
    const recycled = train(true);
    assert.equal(recycled.hash, dropped.hash);
    assert.ok(recycled.freshBytes < dropped.freshBytes, `fresh bytes ${recycled.freshBytes} with recycle vs ${dropped.freshBytes} without`);
  });

  it('sets every .grad to null and pools each gradient buffer once', { skip: !bufferPoolStats().enabled && 'QKV_BUFFER_POOL=0' }, () => {
    clearBufferPool();
    const weight = Tensor.zeros([64, 64]).requiresGrad_();
    const optimizer = new AdamW([weight], { lr: 1e-3 });
    weight.grad = Tensor.ones([64, 64]);
    const buffer = weight.grad.data;
    optimizer.zeroGrad({ recycle: true });
    assert.equal(weight.grad, null);
    assert.equal(takePooled('float32', 64 * 64), buffer, 'the gradient buffer was not pooled');
    assert.equal(takePooled('float32', 64 * 64), undefined, 'the same buffer was pooled twice');
    optimizer.zeroGrad({ recycle: true }); // no gradient: nothing to give
    assert.equal(takePooled('float32', 64 * 64), undefined);
  });

  it('never pools a view of shared memory', () => {
    clearBufferPool();
    givePooled(new Float32Array(new SharedArrayBuffer(4 * 4096)));
    assert.equal(takePooled('float32', 4096), undefined);
  });
});
