// Buffer reuse (src/tensor/buffer-pool.ts): training with the pool gives the same bits as without
// it (QKV_BUFFER_POOL=0 in a child process), the pool really is used, and tensors a caller holds
// (logits, a leaf's .grad) are never recycled under them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { bufferPoolStats } from '../../src/tensor/buffer-pool.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { trainAndHash } from './buffer-pool-fixture.ts';

describe('buffer pool', () => {
  it('training gives the same weights, bit for bit, with and without it, and reuses buffers', () => {
    const before = bufferPoolStats().reused;
    const withPool = trainAndHash();
    assert.ok(bufferPoolStats().enabled);
    assert.ok(bufferPoolStats().reused > before, 'no buffer was reused');
    const script = `import { trainAndHash } from './test/tensor/buffer-pool-fixture.ts'; console.log(trainAndHash());`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, QKV_BUFFER_POOL: '0', NODE_TEST_CONTEXT: '' },
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim().split('\n').pop(), withPool);
  });

  it('never recycles what a caller holds: logits and leaf gradients stay as they were', () => {
    trainAndHash((logits, model) => {
      const logitsCopy = Float32Array.from(logits.data);
      const heldGrads = model.parameters().map((p) => p.grad!);
      const gradCopies = heldGrads.map((g) => Float32Array.from(g.data));
      // Another forward + backward now takes buffers from the pool: none may be one of these.
      const { loss } = model.forward(Tensor.from(Array.from({ length: 64 }, (_, i) => i % 50), [4, 16]), { targets: Tensor.zeros([4, 16]) });
      loss!.backward();
      assert.deepEqual(Float32Array.from(logits.data), logitsCopy, 'logits changed under the caller');
      // Accumulation made new .grad tensors; the ones held before must be untouched.
      heldGrads.forEach((g, i) => assert.deepEqual(Float32Array.from(g.data), gradCopies[i], `gradient ${i} changed under the caller`));
    });
  });
});
