/**
 * A reward model: a causal LM body with a scalar head on the hidden state of the last non-pad
 * token, Hugging Face's `GPT2ForSequenceClassification` / `LlamaForSequenceClassification` with
 * `num_labels = 1` (state dict `transformer.*` or `model.*`, and `score.weight` (1, C)), trained
 * on preference pairs with the Bradley–Terry loss
 *
 *   loss = −log σ(r(x, y_chosen) − r(x, y_rejected)),
 *
 * and judged by pairwise accuracy: the fraction of held-out pairs with r_chosen > r_rejected.
 *
 * Legend: B = sequences, T = time, C = channels.
 *
 * The final hidden state (B, T, C) is read at the LM's final norm (GPT-2's `ln_f`, Llama's
 * `norm`), so the body runs its own forward unchanged; the LM head is not part of the reward model.
 *
 * @example
 * const rm = RewardModel.fromCausalLM(model, new Rng(0));
 * const rewards = rm.score(tokenizer, [{ prompt: '2+2=', completion: '4' }], 32); // [r]
 */
import { join } from 'node:path';
import type { PreferenceRecord } from '../adapt/jsonl.ts';
import { readJsonObject, type JsonObject } from '../io/config.ts';
import { MODEL_FOLDER_FILES, loadModelFolder, saveModelFolder } from '../io/model-folder.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { GPT } from '../models/gpt.ts';
import { gptConfigFromJson, gptConfigToJson } from '../models/gpt-folder.ts';
import { Llama } from '../models/llama.ts';
import { llamaConfigFromJson, llamaConfigToJson } from '../models/llama-folder.ts';
import { normal_ } from '../nn/init.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { AdamW, clipGradNorm } from '../optim/index.ts';
import { noGrad } from '../tensor/autograd.ts';
import { QkvError, QkvValueError } from '../tensor/errors.ts';
import { binaryCrossEntropyWithLogits } from '../tensor/ops/loss.ts';
import { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { tokenizerFromJson, tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import type { Batch } from '../train/data.ts';
import { collateExamples, tokenizeSegments } from '../train/finetune-data.ts';
import { mean } from './logprobs.ts';

/** The module whose output is the LM's final hidden state. */
function finalNorm(lm: CausalLM): Module & { forward(x: Tensor): Tensor } {
  if (lm instanceof GPT) return lm.transformer.ln_f;
  if (lm instanceof Llama) return lm.model.norm;
  throw new QkvValueError(`RewardModel: no known final norm for ${lm.constructor.name} (GPT and Llama are supported)`);
}

export class RewardModel extends Module {
  /** (1, C): HF's `score` head, no bias. */
  readonly score: Linear;

  constructor(readonly body: CausalLM, rng: Rng = new Rng(0)) {
    super();
    const C = lmWidth(body);
    this.score = new Linear(C, 1, { bias: false, rng });
    normal_(this.score.weight, 0, 1 / Math.sqrt(C), rng);
  }

  /** HF's names: the body's own children (`transformer` / `model`), no LM head, then `score`. */
  override namedChildren(): [string, Module][] {
    return [...this.body.namedChildren().filter(([name]) => name !== 'lm_head'), ['score', this.score]];
  }

  /** ids (B, T) → rewards (B): the score of the hidden state at `lastIndex[b]` (each row's last real token). */
  forward(ids: Tensor, lastIndex: readonly number[]): Tensor {
    const [B, T] = ids.shape;
    if (lastIndex.length !== B) throw new QkvValueError(`RewardModel: ${lastIndex.length} last positions for a batch of ${B}`);
    const norm = finalNorm(this.body);
    let hidden: Tensor | null = null;
    const own = norm as unknown as { forward: (x: Tensor) => Tensor };
    const original = norm.forward;
    // Read the final hidden state as it leaves the norm (the body's forward runs as always).
    own.forward = (x: Tensor) => (hidden = original.call(norm, x));
    try {
      this.body.forward(ids);
    } finally {
      delete (own as { forward?: unknown }).forward;
    }
    const h = hidden! as Tensor; // (B, T, C)
    const C = h.shape[2];
    const last = h.reshape([B * T, C]).indexSelect(0, lastIndex.map((t, b) => b * T + t)); // (B, C)
    return this.score.forward(last).reshape([B]); // (B)
  }

  /** Rewards of (prompt, completion) pairs, without gradients. */
  scoreCompletions(tokenizer: Tokenizer, samples: readonly { prompt: string; completion: string }[], blockSize: number): number[] {
    const wasTraining = this.training;
    this.eval();
    const out: number[] = [];
    noGrad(() => {
      for (let start = 0; start < samples.length; start += 32) {
        const batch = rewardBatch(tokenizer, samples.slice(start, start + 32), blockSize);
        out.push(...this.forward(batch.ids, batch.lastIndex).toArray());
      }
    });
    if (wasTraining) this.train();
    return out;
  }
}

function lmWidth(lm: CausalLM): number {
  if (lm instanceof GPT) return lm.config.n_embd;
  if (lm instanceof Llama) return lm.config.hidden_size;
  throw new QkvValueError(`RewardModel: ${lm.constructor.name} is neither a GPT nor a Llama`);
}

/**
 * Sequences prompt + completion, right-padded with EOS, and each one's last real position. No EOS
 * is appended: with pad = EOS, HF's sequence classifiers score the token before the first pad,
 * which is then the completion's last token here too.
 */
export function rewardBatch(tokenizer: Tokenizer, samples: readonly { prompt: string; completion: string }[], blockSize: number): Batch & { lastIndex: number[] } {
  const examples = samples.map((sample) => tokenizeSegments(tokenizer, [{ text: sample.prompt, trainable: false }, { text: sample.completion, trainable: true }], null));
  // collate shifts by one (ids = tokens[0..n−1)); the reward reads the whole sequence, so give it n + 1 slots.
  const padded = examples.map((example) => ({ ids: [...example.ids, 0], trainable: [...example.trainable, false] }));
  const batch = collateExamples(padded, blockSize, tokenizer.tokenToId('<|endoftext|>') ?? 0);
  const T = batch.ids.shape[1];
  return { ...batch, lastIndex: examples.map((example) => Math.min(example.ids.length, T) - 1) };
}

/** −log σ(r_chosen − r_rejected), averaged over pairs: the Bradley–Terry loss. */
export function bradleyTerryLoss(chosenRewards: Tensor, rejectedRewards: Tensor): Tensor {
  const margin = chosenRewards.sub(rejectedRewards); // (B)
  return binaryCrossEntropyWithLogits(margin, Tensor.onesLike(margin), 'mean');
}

/** Fraction of pairs the model ranks right (r_chosen > r_rejected). */
export function pairwiseAccuracy(model: RewardModel, tokenizer: Tokenizer, pairs: readonly PreferenceRecord[], blockSize: number): number {
  const chosen = model.scoreCompletions(tokenizer, pairs.map((pair) => ({ prompt: pair.prompt, completion: pair.chosen })), blockSize);
  const rejected = model.scoreCompletions(tokenizer, pairs.map((pair) => ({ prompt: pair.prompt, completion: pair.rejected })), blockSize);
  return mean(chosen.map((reward, i) => (reward > rejected[i] ? 1 : 0)));
}

export interface RewardTrainConfig {
  steps: number;
  batchSize: number;
  learningRate: number;
  blockSize: number;
  evalInterval: number;
  seed: number;
}

export const REWARD_DEFAULTS: Omit<RewardTrainConfig, 'blockSize'> = { steps: 200, batchSize: 16, learningRate: 1e-3, evalInterval: 50, seed: 0 };

export interface RewardLogRecord {
  step: number;
  loss: number;
  /** Training-batch accuracy. */
  accuracy: number;
  /** Held-out pairwise accuracy, at evaluations. */
  eval_accuracy?: number;
}

/** Trains with the Bradley–Terry loss on random batches of pairs; evaluates pairwise accuracy on `heldOut`. */
export function trainRewardModel(model: RewardModel, tokenizer: Tokenizer, train: readonly PreferenceRecord[], heldOut: readonly PreferenceRecord[], config: RewardTrainConfig, onStep?: (record: RewardLogRecord) => void): RewardLogRecord[] {
  if (train.length === 0) throw new QkvValueError('reward model: no training pairs');
  const parameters = model.parameters().filter((parameter) => parameter.requiresGrad);
  const optimizer = new AdamW(parameters, { lr: config.learningRate, weightDecay: 0 });
  const rng = new Rng(config.seed);
  const history: RewardLogRecord[] = [];
  for (let step = 1; step <= config.steps; step++) {
    model.train();
    const pairs = Array.from({ length: config.batchSize }, () => train[rng.randint(train.length)]);
    const samples = [...pairs.map((pair) => ({ prompt: pair.prompt, completion: pair.chosen })), ...pairs.map((pair) => ({ prompt: pair.prompt, completion: pair.rejected }))];
    const batch = rewardBatch(tokenizer, samples, config.blockSize);
    const rewards = model.forward(batch.ids, batch.lastIndex); // (2B): chosen, then rejected
    const B = pairs.length;
    const chosen = rewards.narrow(0, 0, B);
    const rejected = rewards.narrow(0, B, B);
    const loss = bradleyTerryLoss(chosen, rejected);
    loss.backward();
    clipGradNorm(parameters, 1);
    optimizer.step();
    optimizer.zeroGrad();
    const chosenValues = chosen.toArray();
    const rejectedValues = rejected.toArray();
    const record: RewardLogRecord = { step, loss: loss.item(), accuracy: mean(chosenValues.map((r, i) => (r > rejectedValues[i] ? 1 : 0))) };
    if (heldOut.length > 0 && (step % config.evalInterval === 0 || step === config.steps)) record.eval_accuracy = pairwiseAccuracy(model, tokenizer, heldOut, config.blockSize);
    history.push(record);
    onStep?.(record);
  }
  return history;
}

/** Writes the reward model as a HF sequence-classification folder (config.json with num_labels 1). */
export function saveRewardModel(dir: string, model: RewardModel, tokenizer: Tokenizer): string[] {
  const eos = tokenizer.tokenToId('<|endoftext|>');
  const ids = eos === undefined ? {} : { bos_token_id: eos, eos_token_id: eos, pad_token_id: eos };
  const body = model.body;
  const config: JsonObject = body instanceof GPT
    ? { ...gptConfigToJson(body.config, ids), architectures: ['GPT2ForSequenceClassification'] }
    : { ...llamaConfigToJson((body as Llama).config, ids), architectures: ['LlamaForSequenceClassification'] };
  Object.assign(config, ids, { num_labels: 1, id2label: { 0: 'LABEL_0' }, label2id: { LABEL_0: 0 } });
  return saveModelFolder(dir, { config, stateDict: model.stateDict(), tokenizerJson: tokenizerToJson(tokenizer) }).files;
}

/** Reads a folder written by `saveRewardModel` (or transformers' `*ForSequenceClassification` with one label). */
export function loadRewardModel(dir: string): { model: RewardModel; tokenizer: Tokenizer } {
  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  const json = readJsonObject(configPath);
  if (json.num_labels !== undefined && json.num_labels !== 1) throw new QkvError(`${configPath}: num_labels is ${JSON.stringify(json.num_labels)}; a reward model has 1`);
  const folder = loadModelFolder(dir, { requireTokenizer: true });
  let body: CausalLM;
  if ((json.model_type ?? 'gpt2') === 'gpt2') body = new GPT(gptConfigFromJson(json, configPath));
  else if (json.model_type === 'llama') body = new Llama(llamaConfigFromJson(json, configPath));
  else throw new QkvError(`${configPath}: model_type ${JSON.stringify(json.model_type)} is not supported for reward models (gpt2, llama)`);
  const model = new RewardModel(body);
  model.loadStateDict(folder.tensors);
  return { model, tokenizer: tokenizerFromJson(folder.tokenizer, join(dir, MODEL_FOLDER_FILES.tokenizer)) };
}
