/**
 * BERT pre-training step (forward + backward, MLM + NSP) on a small model, MLM logits over every
 * position (HF's BertForPreTraining) against logits only at the chosen 15% (`gatherTargets`,
 * Google's masked_lm_positions). The two must give the same loss before they are timed.
 */
import { BertForPreTraining } from '../src/models/bert-heads.ts';
import { maskTokens } from '../src/train/mlm-masking.ts';
import { Rng } from '../src/tensor/random.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { type BenchReport, timeMedianMs } from './report.ts';

const V = 4000;
const B = 16;
const T = 64;

export async function run(report: BenchReport): Promise<void> {
  const rng = new Rng(0);
  const model = new BertForPreTraining({ vocab_size: V, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 512, max_position_embeddings: T, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, { rng });
  const vocabulary = { maskId: 4, specialIds: new Set([0, 1, 2, 3, 4]), randomIds: Array.from({ length: V - 5 }, (_, i) => i + 5), isContinuation: () => false };
  const ids: number[] = [];
  const labels: number[] = [];
  for (let b = 0; b < B; b++) {
    const masked = maskTokens([2, ...Array.from({ length: T - 2 }, () => 5 + rng.randint(V - 5)), 3], vocabulary, rng);
    ids.push(...masked.inputIds);
    labels.push(...masked.labels);
  }
  const inputs = { targets: Tensor.from(labels, [B, T]), nextSentenceLabels: Tensor.from(Array.from({ length: B }, (_, b) => b % 2), [B]) };
  const input = Tensor.from(ids, [B, T]);
  const step = (gatherTargets: boolean) => () => {
    const { loss } = model.forward(input, { ...inputs, gatherTargets });
    loss!.backward();
    model.zeroGrad();
  };
  const full = model.forward(input, inputs).loss!.item();
  const gathered = model.forward(input, { ...inputs, gatherTargets: true }).loss!.item();
  if (Math.abs(full - gathered) > 1e-4) throw new Error(`bench bert: losses differ (${full} vs ${gathered})`);
  // Interleaved, so load changes hit both alike.
  const fullMs: number[] = [];
  const gatheredMs: number[] = [];
  for (let round = 0; round < 3; round++) {
    fullMs.push(timeMedianMs(step(false), { warmup: 1, minRuns: 3 }));
    gatheredMs.push(timeMedianMs(step(true), { warmup: 1, minRuns: 3 }));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const tokensPerSecond = (ms: number) => (B * T) / (ms / 1000);
  const fullRow = { name: 'bert pretrain step, MLM logits at all positions', shape: `${B}x${T} V=${V}`, timeMs: median(fullMs), unit: 'tokens/s', value: tokensPerSecond(median(fullMs)) };
  report.row(fullRow);
  report.row({ name: 'bert pretrain step, MLM logits at chosen positions', shape: `${B}x${T} V=${V}`, timeMs: median(gatheredMs), unit: 'tokens/s', value: tokensPerSecond(median(gatheredMs)), ratio: median(fullMs) / median(gatheredMs), baseline: fullRow.name });
}
