/**
 * Checks every causal language model must pass, shared by the GPT and Llama tests.
 */
import assert from 'node:assert/strict';
import type { CausalLM } from '../../src/models/causal-lm.ts';
import { AdamW } from '../../src/optim/index.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import type { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

/** (batch, time) token ids drawn uniformly from the vocabulary. */
export const randomIds = (rng: Rng, batch: number, time: number, vocab: number): Tensor =>
  Tensor.from(Array.from({ length: batch * time }, () => rng.randint(vocab)), [batch, time]);

/** Changing the token at position 7 of a 10-token input leaves the logits of positions 0..6 unchanged, and changes position 7's. */
export function assertCausal(model: CausalLM, rng: Rng): void {
  const vocab = model.vocabSize;
  const ids = randomIds(rng, 1, 10, vocab);
  const changed = Tensor.from(ids.toArray().map((id, i) => (i === 7 ? (id + 1) % vocab : id)), [1, 10]);
  const a = noGrad(() => model.forward(ids).logits);
  const b = noGrad(() => model.forward(changed).logits);
  for (let t = 0; t < 7; t++) for (let v = 0; v < vocab; v++) assert.equal(a.get(0, t, v), b.get(0, t, v), `position ${t}, vocab ${v}`);
  assert.notEqual(a.get(0, 7, 0), b.get(0, 7, 0));
}

/** Trains on one fixed (2, 16) batch of random targets with AdamW and returns the last loss. */
export function overfitFixedBatch(model: CausalLM, rng: Rng, options: { lr: number; steps: number }): number {
  const ids = randomIds(rng, 2, 16, model.vocabSize);
  const targets = randomIds(rng, 2, 16, model.vocabSize);
  const optimizer = new AdamW(model.parameters(), { lr: options.lr, weightDecay: 0 });
  let loss = Infinity;
  for (let step = 0; step < options.steps; step++) {
    const out = model.forward(ids, { targets });
    loss = out.loss!.item();
    out.loss!.backward();
    optimizer.step();
    optimizer.zeroGrad();
  }
  return loss;
}
