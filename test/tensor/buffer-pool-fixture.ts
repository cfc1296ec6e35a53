// Shared by test/tensor/buffer-pool.test.ts and the child process it starts with the pool off.
import { createHash } from 'node:crypto';
import { GPT } from '../../src/models/gpt.ts';
import { AdamW } from '../../src/optim/index.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

/** Three AdamW steps of a small GPT (activations over the pool's 1024-element floor); a hash of the weights. */
export function trainAndHash(onStep?: (logits: Tensor, model: GPT) => void): string {
  const V = 50, B = 4, T = 16;
  const model = new GPT({ vocab_size: V, n_layer: 2, n_embd: 32, n_head: 4, n_positions: T }, { rng: new Rng(7) });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  const rng = new Rng(8);
  const ids = Tensor.from(Array.from({ length: B * T }, () => Math.floor(rng.uniform() * V)), [B, T]);
  for (let step = 0; step < 3; step++) {
    const { logits, loss } = model.forward(ids, { targets: ids });
    loss!.backward();
    onStep?.(logits, model);
    optimizer.step();
    optimizer.zeroGrad();
  }
  const hash = createHash('sha256');
  for (const p of model.parameters()) hash.update(new Uint8Array(p.contiguousData().buffer.slice(0)));
  return hash.digest('hex');
}

