// Shared by test/generate/decode-buffers.test.ts and the child process it starts for the plain reference.
import { modelStep } from '../../src/generate/lm.ts';
import { GPT, type GPTConfig } from '../../src/models/gpt.ts';
import { Rng } from '../../src/tensor/random.ts';

// V = 2048: each step's (1, 1, V) logits are over the pool's 1024-element floor; hs = 24, so
// RoPE's tables (100 rows, then 200, × 12) are too.
export const base = { vocab_size: 2048, n_layer: 2, n_embd: 96, n_head: 4, n_positions: 160 } satisfies Partial<GPTConfig>;
export const prompt = Array.from({ length: 100 }, (_, i) => (i * 131) % 2048);

/** Greedy ids after `prompt`, each step in an inference scope or (reuseBuffers false) plain noGrad. */
export function greedy(model: GPT, reuseBuffers: boolean, ids0: number[], newTokens: number): number[] {
  const step = modelStep(model, true, reuseBuffers);
  const ids = [...ids0];
  for (let i = 0; i < newTokens; i++) {
    const logits = step(ids);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    ids.push(best);
  }
  return ids.slice(ids0.length);
}

export function plainGreedy(position: 'learned' | 'rope'): number[] {
  const model = new GPT({ ...base, position }, { rng: new Rng(5) });
  model.eval();
  return greedy(model, false, prompt, 12);
}
