/**
 * Direct Preference Optimisation (Rafailov et al. 2023), as TRL's `DPOTrainer` (sigmoid loss):
 *
 *   loss = −log σ(β·[(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))])
 *
 * with sequence log-probabilities summed over completion tokens only, β = 0.1 by default, and the
 * reference either a frozen copy of the starting model or — with LoRA — the same model with its
 * adapters disabled (no second copy in memory). Logged each step under TRL's names:
 * `rewards/chosen` = β(log π − log π_ref)(y_w), `rewards/rejected`, `rewards/accuracies` (the
 * fraction with chosen reward > rejected reward), `rewards/margins`, `logps/chosen`,
 * `logps/rejected`; and, at each evaluation, the KL of the policy to the reference along the
 * held-out chosen completions, and the held-out preference accuracy.
 *
 * @example
 * const { loss, metrics } = dpoLoss(policyChosen, policyRejected, refChosen, refRejected, 0.1);
 */
import type { PreferenceRecord } from '../adapt/jsonl.ts';
import type { LoraModel } from '../adapt/lora.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { AdamW, LRScheduler, clipGradNorm, warmupCosineSchedule } from '../optim/index.ts';
import { noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { binaryCrossEntropyWithLogits } from '../tensor/ops/loss.ts';
import { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { completionKL, mean, pairBatch, sequenceLogProbs } from './logprobs.ts';

/** TRL's per-step DPO metrics. */
export interface DpoMetrics {
  loss: number;
  'rewards/chosen': number;
  'rewards/rejected': number;
  'rewards/accuracies': number;
  'rewards/margins': number;
  'logps/chosen': number;
  'logps/rejected': number;
}

/**
 * The DPO loss of B pairs from the four (B) sequence log-probabilities; the reference ones carry
 * no gradient. Returns the mean loss (with gradients through the policy's) and TRL's metrics.
 */
export function dpoLoss(policyChosen: Tensor, policyRejected: Tensor, referenceChosen: Tensor, referenceRejected: Tensor, beta = 0.1): { loss: Tensor; metrics: DpoMetrics } {
  const chosenLogRatio = policyChosen.sub(referenceChosen.detach()); // (B)
  const rejectedLogRatio = policyRejected.sub(referenceRejected.detach());
  const logits = chosenLogRatio.sub(rejectedLogRatio).mul(beta); // (B)
  // −log σ(z) is the binary cross-entropy of z against 1, computed stably.
  const loss = binaryCrossEntropyWithLogits(logits, Tensor.onesLike(logits), 'mean');
  const chosenRewards = chosenLogRatio.detach().mul(beta).toArray();
  const rejectedRewards = rejectedLogRatio.detach().mul(beta).toArray();
  return {
    loss,
    metrics: {
      loss: loss.item(),
      'rewards/chosen': mean(chosenRewards),
      'rewards/rejected': mean(rejectedRewards),
      'rewards/accuracies': mean(chosenRewards.map((reward, i) => (reward > rejectedRewards[i] ? 1 : 0))),
      'rewards/margins': mean(chosenRewards.map((reward, i) => reward - rejectedRewards[i])),
      'logps/chosen': mean(policyChosen.toArray()),
      'logps/rejected': mean(policyRejected.toArray()),
    },
  };
}

/** The reference policy: a frozen copy, or the policy itself with its LoRA adapters disabled. */
export type DpoReference = { kind: 'copy'; model: CausalLM } | { kind: 'adapters-disabled'; lora: LoraModel };

/** Reference logits (B, T, V) for ids, without gradients. */
export function referenceLogits(policy: CausalLM, reference: DpoReference): (ids: Tensor) => Tensor {
  return (ids) =>
    noGrad(() => {
      if (reference.kind === 'copy') return reference.model.forward(ids).logits;
      return reference.lora.withAdaptersDisabled(() => policy.forward(ids).logits);
    });
}

function referenceLogProbs(policy: CausalLM, reference: DpoReference, batch: ReturnType<typeof pairBatch>): Tensor {
  return noGrad(() => {
    if (reference.kind === 'copy') return sequenceLogProbs(reference.model, batch);
    return reference.lora.withAdaptersDisabled(() => sequenceLogProbs(policy, batch));
  });
}

/** DPO metrics of pairs, and the KL(π‖π_ref) summed along their chosen completions, without training. */
export function evaluateDpo(policy: CausalLM, reference: DpoReference, tokenizer: Tokenizer, pairs: readonly PreferenceRecord[], options: { beta?: number; blockSize: number; batchSize?: number }): DpoMetrics & { kl: number } {
  const wasTraining = policy.training;
  policy.eval();
  const rows: { metrics: DpoMetrics; kl: number[]; size: number }[] = [];
  const batchSize = options.batchSize ?? 16;
  for (let start = 0; start < pairs.length; start += batchSize) {
    const slice = pairs.slice(start, start + batchSize);
    const batch = pairBatch(tokenizer, slice, options.blockSize);
    const B = slice.length;
    const { metrics } = noGrad(() => {
      const policyLogps = sequenceLogProbs(policy, batch);
      const referenceLogps = referenceLogProbs(policy, reference, batch);
      return dpoLoss(policyLogps.narrow(0, 0, B), policyLogps.narrow(0, B, B), referenceLogps.narrow(0, 0, B), referenceLogps.narrow(0, B, B), options.beta);
    });
    const chosenOnly = { ids: batch.ids.narrow(0, 0, B).contiguous(), targets: batch.targets.narrow(0, 0, B).contiguous() };
    rows.push({ metrics, kl: completionKL(policy, referenceLogits(policy, reference), chosenOnly), size: B });
  }
  if (wasTraining) policy.train();
  const total = rows.reduce((sum, row) => sum + row.size, 0);
  const averaged = {} as DpoMetrics & { kl: number };
  for (const key of Object.keys(rows[0].metrics) as (keyof DpoMetrics)[]) averaged[key] = rows.reduce((sum, row) => sum + row.metrics[key] * row.size, 0) / total;
  averaged.kl = mean(rows.flatMap((row) => row.kl));
  return averaged;
}

export interface DpoConfig {
  steps: number;
  /** Pairs per step. */
  batchSize: number;
  learningRate: number;
  beta: number;
  blockSize: number;
  /** Evaluate on the held-out pairs every N steps (and at the end). */
  evalInterval: number;
  gradClip: number;
  seed: number;
}

export const DPO_DEFAULTS: Omit<DpoConfig, 'blockSize'> = { steps: 100, batchSize: 8, learningRate: 5e-4, beta: 0.1, evalInterval: 25, gradClip: 1, seed: 0 };

export interface DpoLogRecord extends DpoMetrics {
  step: number;
  /** At evaluations: held-out metrics and KL to the reference. */
  eval?: DpoMetrics & { kl: number };
}

export interface DpoRun {
  policy: CausalLM;
  reference: DpoReference;
  tokenizer: Tokenizer;
  train: readonly PreferenceRecord[];
  heldOut: readonly PreferenceRecord[];
  config: DpoConfig;
  onStep?(record: DpoLogRecord): void;
}

/** Trains `policy` with DPO; returns the log (one record per step) and held-out metrics before and after. */
export function trainDpo(run: DpoRun): { history: DpoLogRecord[]; before: DpoMetrics & { kl: number }; after: DpoMetrics & { kl: number } } {
  const { policy, reference, tokenizer, config } = run;
  if (run.train.length === 0) throw new QkvValueError('DPO: no training pairs');
  const parameters = policy.parameters().filter((parameter) => parameter.requiresGrad);
  const optimizer = new AdamW(parameters, { lr: config.learningRate, weightDecay: 0 });
  const scheduler = new LRScheduler(optimizer, warmupCosineSchedule({ maxLr: config.learningRate, minLr: config.learningRate / 10, warmupSteps: Math.floor(config.steps / 10), totalSteps: config.steps }));
  const evaluate = () => evaluateDpo(policy, reference, tokenizer, run.heldOut.length > 0 ? run.heldOut : run.train, { beta: config.beta, blockSize: config.blockSize });
  const before = evaluate();
  const rng = new Rng(config.seed);
  const history: DpoLogRecord[] = [];
  policy.train();
  for (let step = 1; step <= config.steps; step++) {
    const pairs = Array.from({ length: config.batchSize }, () => run.train[rng.randint(run.train.length)]);
    const batch = pairBatch(tokenizer, pairs, config.blockSize);
    const B = pairs.length;
    const referenceLogps = referenceLogProbs(policy, reference, batch);
    const policyLogps = sequenceLogProbs(policy, batch); // (2B)
    const { loss, metrics } = dpoLoss(policyLogps.narrow(0, 0, B), policyLogps.narrow(0, B, B), referenceLogps.narrow(0, 0, B), referenceLogps.narrow(0, B, B), config.beta);
    loss.backward();
    clipGradNorm(parameters, config.gradClip > 0 ? config.gradClip : Infinity);
    optimizer.step();
    optimizer.zeroGrad();
    scheduler.step();
    const record: DpoLogRecord = { step, ...metrics };
    if (step % config.evalInterval === 0 || step === config.steps) record.eval = evaluate();
    history.push(record);
    run.onStep?.(record);
  }
  return { history, before, after: history[history.length - 1].eval! };
}
