// Buffer reuse (src/tensor/buffer-pool.ts): training with the pool gives the same bits as without
// it (QKV_BUFFER_POOL=0 in a child process), the pool really is used, and tensors a caller holds
// (logits, a leaf's .grad) are never recycled under them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { GPT, type KVCache } from '../../src/models/gpt.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { bufferPoolStats, inferenceScope } from '../../src/tensor/buffer-pool.ts';
import { Rng } from '../../src/tensor/random.ts';
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

  it('inferenceScope: decode steps reuse their buffers, give the same logits as plain noGrad, and never touch held tensors', () => {
    // B = 8 sequences, V = 128: the per-step logits (8·128) and MLP activations (8·256) are pooled.
    const B = 8, V = 128, steps = 6;
    const model = new GPT({ vocab_size: V, n_layer: 2, n_embd: 64, n_head: 4, n_positions: 32 }, { rng: new Rng(3) });
    model.eval();
    const prompt = Tensor.from(Array.from({ length: B * 4 }, (_, i) => (i * 37) % V), [B, 4]);
    const cacheTensors = (cache: KVCache): Tensor[] => cache.layers.flatMap((layer) => [layer.keys!, layer.values!]);
    const decode = (scoped: boolean): { logits: Tensor[]; copies: Float32Array[] } => {
      const cache = model.newCache();
      const logits: Tensor[] = [];
      const copies: Float32Array[] = [];
      let ids = prompt;
      for (let step = 0; step < steps; step++) {
        const run = () => model.forward(ids, { cache }).logits;
        const out = scoped ? inferenceScope(run, (result) => [result, ...cacheTensors(cache)]) : noGrad(run);
        logits.push(out);
        copies.push(Float32Array.from(out.data));
        // Greedy next token per sequence, from the last position.
        const last = out.shape[1] - 1;
        ids = Tensor.from(Array.from({ length: B }, (_, b) => {
          let best = 0;
          for (let v = 1; v < V; v++) if (out.data[(b * out.shape[1] + last) * V + v] > out.data[(b * out.shape[1] + last) * V + best]) best = v;
          return best;
        }), [B, 1]);
      }
      return { logits, copies };
    };
    const plain = decode(false);
    const before = bufferPoolStats().reused;
    const scoped = decode(true);
    assert.ok(bufferPoolStats().reused > before, 'the decode steps reused no buffer');
    for (let step = 0; step < steps; step++) {
      assert.deepEqual(scoped.copies[step], plain.copies[step], `step ${step}: scoped logits differ from plain noGrad`);
      // Held across every later step (whose buffers came from the pool): still as returned.
      assert.deepEqual(Float32Array.from(scoped.logits[step].data), scoped.copies[step], `step ${step}: held logits changed under the caller`);
    }
  });

  it('split: the padded gradients added into another piece\'s buffer go back to the pool, and the gradient is exact', () => {
    // x (4, 3·1024) · 2 → split in three along the last axis → piece i times (i + 1), summed. Each piece's backward pads
    // its gradient to (4, 3072); the second and third are added into the first's buffer in place.
    const x = Tensor.from(Array.from({ length: 4 * 3072 }, (_, i) => (i % 7) - 3), [4, 3072], { requiresGrad: true });
    const step = (): void => {
      const [a, b, c] = x.mul(2).split(1024, 1);
      a.mul(1).add(b.mul(2)).add(c.mul(3)).sum().backward({ releaseActivations: true });
    };
    step();
    const first = x.grad!.data.slice();
    x.grad = null;
    const before = bufferPoolStats();
    step();
    const after = bufferPoolStats();
    // Every buffer of the second pass comes from the first's but one: the gradient x.grad took with it (before
    // the fix, also two pads per pass went to GC).
    assert.ok(after.freshAllocations - before.freshAllocations <= 1, `the second pass allocated ${after.freshAllocations - before.freshAllocations} fresh buffers`);
    // d/dx = 2·(i + 1) on piece i's columns: exact in float32.
    for (let row = 0; row < 4; row++) {
      for (let col = 0; col < 3072; col++) {
        const expected = 2 * (Math.floor(col / 1024) + 1);
        assert.equal(x.grad!.data[row * 3072 + col], expected, `x.grad[${row}, ${col}]`);
        assert.equal(first[row * 3072 + col], expected, `first pass x.grad[${row}, ${col}]`);
      }
    }
  });
});
