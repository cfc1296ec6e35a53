/**
 * RLHF against a learned reward model, made to show reward hacking: a policy is optimised with
 * REINFORCE (a leave-one-out baseline over K samples per prompt, as RLOO) on the shaped reward
 *
 *   R(x, y) = r_φ(x, y) − β_KL · (log π(y|x) − log π_ref(y|x)),
 *
 * and every evaluation logs, side by side, the learned reward r_φ, the KL of the policy to the
 * reference, and a held-out quality measure that checks the rule itself — which the reward
 * model only approximates. With β_KL = 0 nothing holds the policy near the data the reward model
 * was trained on: the reward rises while the KL grows and the quality can fall (the policy
 * finds what r_φ overrates). Best-of-n sampling from the reference is the simple baseline: pick
 * the highest-reward of n samples; its KL is at most log n − (n − 1)/n.
 *
 * Legend: B = prompts per step, K = samples per prompt.
 *
 * @example
 * const log = await trainRl({ policy, reference, rewardModel, tokenizer, prompts, heldOutPrompts, quality, config });
 */
import type { CausalLM } from '../models/causal-lm.ts';
import { generate } from '../generate/stream.ts';
import { modelStep } from '../generate/lm.ts';
import { AdamW, clipGradNorm } from '../optim/index.ts';
import { noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { collateExamples, type TokenizedExample } from '../train/finetune-data.ts';
import type { Batch } from '../train/data.ts';
import { completionKL, mean, sequenceLogProbs } from './logprobs.ts';
import type { RewardModel } from './reward-model.ts';

export interface RlConfig {
  steps: number;
  /** B: prompts per step. */
  promptsPerStep: number;
  /** K ≥ 2: samples per prompt (the leave-one-out baseline needs two). */
  samplesPerPrompt: number;
  maxNewTokens: number;
  temperature: number;
  learningRate: number;
  /** β_KL: weight of the KL penalty in the shaped reward (0: none, reward hacking shows). */
  klCoef: number;
  evalInterval: number;
  seed: number;
}

export const RL_DEFAULTS: RlConfig = { steps: 60, promptsPerStep: 4, samplesPerPrompt: 4, maxNewTokens: 6, temperature: 1, learningRate: 2e-3, klCoef: 0.1, evalInterval: 10, seed: 0 };

/** Completions of a policy for prompts: the sampled ids and the decoded text. */
export interface Sample {
  prompt: string;
  promptIds: number[];
  ids: number[];
  completion: string;
}

/** Samples one completion per prompt (greedy when temperature is 0). */
export async function sampleCompletions(model: CausalLM, tokenizer: Tokenizer, prompts: readonly string[], options: { maxNewTokens: number; temperature: number; rng: Rng }): Promise<Sample[]> {
  const eos = tokenizer.tokenToId('<|endoftext|>');
  const wasTraining = model.training;
  model.eval();
  const out: Sample[] = [];
  for (const prompt of prompts) {
    const promptIds = tokenizer.encodeIds(prompt);
    const result = await generate({
      step: modelStep(model, true),
      decode: (ids) => tokenizer.decode([...ids]),
      promptIds,
      config: { max_new_tokens: options.maxNewTokens, do_sample: options.temperature > 0, temperature: options.temperature > 0 ? options.temperature : 1, top_k: 0, ...(eos === undefined ? {} : { eos_token_id: eos }) },
      rng: options.rng,
    });
    out.push({ prompt, promptIds, ids: result.ids, completion: result.text });
  }
  if (wasTraining) model.train();
  return out;
}

/** The samples as a batch whose targets are the sampled tokens (log-probs of exactly what was drawn). */
export function sampleBatch(samples: readonly Sample[], blockSize: number, padId: number): Batch {
  const examples: TokenizedExample[] = samples.map((sample) => ({
    ids: [...sample.promptIds, ...sample.ids],
    trainable: [...sample.promptIds.map(() => false), ...sample.ids.map(() => true)],
  }));
  return collateExamples(examples, blockSize, padId);
}

/** What an evaluation reports: learned reward, KL to the reference, and the rule's quality, on held-out prompts. */
export interface RlEvaluation {
  reward: number;
  kl: number;
  quality: number;
  /** A few greedy completions, to see what the policy does. */
  examples: string[];
}

export interface RlLogRecord {
  step: number;
  /** Mean learned reward of this step's samples. */
  reward: number;
  /** Mean per-sequence log π − log π_ref of this step's samples (the sampled KL estimate). */
  kl: number;
  loss: number;
  eval?: RlEvaluation;
}

export interface RlRun {
  policy: CausalLM;
  /** The frozen starting policy. */
  reference: CausalLM;
  rewardModel: RewardModel;
  tokenizer: Tokenizer;
  prompts: readonly string[];
  heldOutPrompts: readonly string[];
  /** The held-out quality measure (the rule): a score in [0, 1] per completion. */
  quality: (prompt: string, completion: string) => number;
  config: RlConfig;
  onStep?(record: RlLogRecord): void;
}

/**
 * KL(π ‖ π_ref) along the policy's own greedy completions of `prompts` (mean over prompts of the
 * per-position KL summed over each completion), the "KL on held-out prompts" DPO and RL report.
 */
export async function policyKL(policy: CausalLM, reference: (ids: Tensor) => Tensor, tokenizer: Tokenizer, prompts: readonly string[], maxNewTokens: number): Promise<number> {
  const samples = await sampleCompletions(policy, tokenizer, prompts, { maxNewTokens, temperature: 0, rng: new Rng(0) });
  return mean(completionKL(policy, reference, sampleBatch(samples, policy.contextLength, tokenizer.tokenToId('<|endoftext|>') ?? 0)));
}

/** Greedy completions on the held-out prompts: learned reward, exact KL along them, and quality. */
export async function evaluatePolicy(run: Omit<RlRun, 'config' | 'prompts'> & { maxNewTokens: number }): Promise<RlEvaluation> {
  const { policy, reference, rewardModel, tokenizer } = run;
  const samples = await sampleCompletions(policy, tokenizer, run.heldOutPrompts, { maxNewTokens: run.maxNewTokens, temperature: 0, rng: new Rng(0) });
  const rewards = rewardModel.scoreCompletions(tokenizer, samples, policy.contextLength);
  const batch = sampleBatch(samples, policy.contextLength, tokenizer.tokenToId('<|endoftext|>') ?? 0);
  const kl = completionKL(policy, (ids) => reference.forward(ids).logits, batch);
  return {
    reward: mean(rewards),
    kl: mean(kl),
    quality: mean(samples.map((sample) => run.quality(sample.prompt, sample.completion))),
    examples: samples.slice(0, 3).map((sample) => `${sample.prompt}${sample.completion}`),
  };
}

/** Trains the policy with REINFORCE + leave-one-out baseline on r − β_KL·(log π − log π_ref). */
export async function trainRl(run: RlRun): Promise<RlLogRecord[]> {
  const { policy, reference, rewardModel, tokenizer, config } = run;
  if (config.samplesPerPrompt < 2) throw new QkvValueError(`RL: samplesPerPrompt must be ≥ 2 (the leave-one-out baseline), got ${config.samplesPerPrompt}`);
  if (run.prompts.length === 0) throw new QkvValueError('RL: no prompts');
  const parameters = policy.parameters().filter((parameter) => parameter.requiresGrad);
  const optimizer = new AdamW(parameters, { lr: config.learningRate, weightDecay: 0 });
  const rng = new Rng(config.seed);
  const padId = tokenizer.tokenToId('<|endoftext|>') ?? 0;
  const K = config.samplesPerPrompt;
  const history: RlLogRecord[] = [];
  const evaluate = () => evaluatePolicy({ ...run, maxNewTokens: config.maxNewTokens });
  history.push({ step: 0, reward: NaN, kl: 0, loss: NaN, eval: await evaluate() });
  run.onStep?.(history[0]);
  for (let step = 1; step <= config.steps; step++) {
    const prompts = Array.from({ length: config.promptsPerStep }, () => run.prompts[rng.randint(run.prompts.length)]).flatMap((prompt) => Array<string>(K).fill(prompt));
    const samples = await sampleCompletions(policy, tokenizer, prompts, { maxNewTokens: config.maxNewTokens, temperature: config.temperature, rng });
    const rewards = rewardModel.scoreCompletions(tokenizer, samples, policy.contextLength);
    const batch = sampleBatch(samples, policy.contextLength, padId);
    policy.train();
    const logProbs = sequenceLogProbs(policy, batch); // (B·K), with gradients
    const referenceLogProbs = noGrad(() => sequenceLogProbs(reference, batch)).toArray();
    const logRatios = logProbs.toArray().map((logProb, i) => logProb - referenceLogProbs[i]);
    const shaped = rewards.map((reward, i) => reward - config.klCoef * logRatios[i]);
    // Leave-one-out baseline: each sample against the mean of the other K − 1 of its prompt.
    const advantages = shaped.map((value, i) => {
      const group = Math.floor(i / K) * K;
      let others = 0;
      for (let j = group; j < group + K; j++) if (j !== i) others += shaped[j];
      return value - others / (K - 1);
    });
    const weights = Tensor.from(advantages.map((advantage) => -advantage / advantages.length), [advantages.length]);
    const loss = logProbs.mul(weights).sum(); // −mean(A · log π)
    loss.backward();
    clipGradNorm(parameters, 1);
    optimizer.step();
    optimizer.zeroGrad();
    const record: RlLogRecord = { step, reward: mean(rewards), kl: mean(logRatios), loss: loss.item() };
    if (step % config.evalInterval === 0 || step === config.steps) record.eval = await evaluate();
    history.push(record);
    run.onStep?.(record);
  }
  return history;
}

/**
 * Best-of-n from the reference: for each held-out prompt, n samples, keep the one the reward model
 * scores highest. Returns its mean reward and quality, and the analytic KL bound log n − (n−1)/n.
 */
export async function bestOfN(run: Pick<RlRun, 'reference' | 'rewardModel' | 'tokenizer' | 'heldOutPrompts' | 'quality'> & { n: number; maxNewTokens: number; temperature?: number; seed?: number }): Promise<{ reward: number; quality: number; klBound: number }> {
  const rng = new Rng(run.seed ?? 0);
  const rewards: number[] = [];
  const qualities: number[] = [];
  for (const prompt of run.heldOutPrompts) {
    const samples = await sampleCompletions(run.reference, run.tokenizer, Array<string>(run.n).fill(prompt), { maxNewTokens: run.maxNewTokens, temperature: run.temperature ?? 1, rng });
    const scores = run.rewardModel.scoreCompletions(run.tokenizer, samples, run.reference.contextLength);
    const best = scores.indexOf(Math.max(...scores));
    rewards.push(scores[best]);
    qualities.push(run.quality(prompt, samples[best].completion));
  }
  return { reward: mean(rewards), quality: mean(qualities), klBound: Math.log(run.n) - (run.n - 1) / run.n };
}
