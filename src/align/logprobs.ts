/**
 * What alignment measures on a causal LM: the log-probability of a completion given its prompt
 * (summed over the completion's tokens only), preference pairs batched as (chosen; rejected), and
 * the KL divergence of a policy to a reference along completions.
 *
 * Legend: B = pairs (or sequences), T = longest sequence in the batch, V = vocab.
 *
 * @example
 * const batch = pairBatch(tokenizer, pairs, 64);            // 2B rows: B chosen, then B rejected
 * const logps = sequenceLogProbs(model, batch);             // (2B) with gradients
 */
import type { PreferenceRecord } from '../adapt/jsonl.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { noGrad } from '../tensor/autograd.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import type { Batch } from '../train/data.ts';
import { IGNORE_INDEX, collateExamples, tokenizeSegments, type TokenizedExample } from '../train/finetune-data.ts';

/** prompt + completion (+ EOS) as ids, the completion's tokens trainable. */
export function completionExample(tokenizer: Tokenizer, prompt: string, completion: string): TokenizedExample {
  const eos = tokenizer.tokenToId('<|endoftext|>') ?? null;
  return tokenizeSegments(tokenizer, [{ text: prompt, trainable: false }, { text: completion, trainable: true }], eos);
}

/** Rows 0…B−1 are the chosen completions, rows B…2B−1 the rejected ones, as TRL's `concatenated_forward`. */
export function pairBatch(tokenizer: Tokenizer, pairs: readonly PreferenceRecord[], blockSize: number): Batch {
  const chosen = pairs.map((pair) => completionExample(tokenizer, pair.prompt, pair.chosen));
  const rejected = pairs.map((pair) => completionExample(tokenizer, pair.prompt, pair.rejected));
  return collateExamples([...chosen, ...rejected], blockSize, tokenizer.tokenToId('<|endoftext|>') ?? 0);
}

/** Σ_t log π(y_t | x, y_<t) over each row's completion tokens (targets ≠ −100): (B), with gradients. */
export function sequenceLogProbs(model: CausalLM, batch: Batch): Tensor {
  const { logits } = model.forward(batch.ids); // (B, T, V)
  const nll = crossEntropy(logits, batch.targets, { reduction: 'none', ignoreIndex: IGNORE_INDEX }); // (B, T), 0 where ignored
  return nll.sum(1).neg(); // (B)
}

/** Completion tokens per row. */
export function completionLengths(batch: Batch): number[] {
  const [B, T] = batch.targets.shape;
  const targets = batch.targets.contiguousData();
  return Array.from({ length: B }, (_, b) => {
    let count = 0;
    for (let t = 0; t < T; t++) if (targets[b * T + t] !== IGNORE_INDEX) count++;
    return count;
  });
}

/**
 * KL(π ‖ π_ref) summed over each row's completion positions, with the full next-token
 * distributions (Σ_v π(v)·(log π(v) − log π_ref(v)) at each position, so never negative):
 * (B) values, no gradients. `reference` runs the reference model (a copy, or the policy with
 * its adapters disabled).
 */
export function completionKL(policy: CausalLM, reference: (ids: Tensor) => Tensor, batch: Batch): number[] {
  return noGrad(() => {
    const logP = policy.forward(batch.ids).logits.logSoftmax(-1).contiguousData(); // (B, T, V)
    const logQ = reference(batch.ids).logSoftmax(-1).contiguousData();
    const [B, T] = batch.targets.shape;
    const V = policy.vocabSize;
    const targets = batch.targets.contiguousData();
    const out: number[] = [];
    for (let b = 0; b < B; b++) {
      let kl = 0;
      for (let t = 0; t < T; t++) {
        if (targets[b * T + t] === IGNORE_INDEX) continue;
        const base = (b * T + t) * V;
        for (let v = 0; v < V; v++) kl += Math.exp(logP[base + v]) * (logP[base + v] - logQ[base + v]);
      }
      out.push(kl);
    }
    return out;
  });
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((total, value) => total + value, 0) / values.length;
}
