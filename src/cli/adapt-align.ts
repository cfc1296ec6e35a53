/**
 * `qkv reward train|score`, `qkv align dpo|rl|data`: the reward model, DPO, RL against the reward
 * model (with the KL penalty and the best-of-n baseline), and the seeded rule-checked datasets.
 * Each writes its log (`metrics.jsonl`, TRL's names for DPO) beside its output and prints a
 * summary, or one JSON object with `--json`.
 */
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { readJsonl, writeJsonl, type PreferenceRecord } from '../adapt/jsonl.ts';
import { PEFT_DEFAULT_TARGET_MODULES, applyLora } from '../adapt/lora.ts';
import { saveLoraAdapter } from '../adapt/peft-files.ts';
import { arithmeticInstructions, arithmeticPreferences, arithmeticText, isCorrectAnswer } from '../align/data.ts';
import { DPO_DEFAULTS, referenceLogits, trainDpo, type DpoReference } from '../align/dpo.ts';
import { REWARD_DEFAULTS, RewardModel, loadRewardModel, pairwiseAccuracy, saveRewardModel, trainRewardModel } from '../align/reward-model.ts';
import { RL_DEFAULTS, bestOfN, policyKL, trainRl } from '../align/rl.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { loadCausalLM, saveCausalLM } from '../models/load.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { archOf } from '../train/run.ts';
import { Rng } from '../tensor/random.ts';
import { addLoraOptions, loraConfigFromFlags, type LoraFlags } from './adapt.ts';
import { integerOption, numberOption } from './options.ts';
import { createProgress } from './progress.ts';

/** Held-out split of records: the last `fraction` (at least one when there are two or more). */
function splitHeldOut<T>(records: readonly T[], fraction: number): { train: T[]; heldOut: T[] } {
  const held = records.length < 2 ? 0 : Math.max(1, Math.round(records.length * fraction));
  return { train: records.slice(0, records.length - held), heldOut: records.slice(records.length - held) };
}

const round = (value: number, digits = 4) => Number(value.toFixed(digits));

interface CommonFlags {
  steps?: number;
  batchSize?: number;
  lr?: number;
  seed: number;
  heldOut: number;
  json?: boolean;
}

function addCommonOptions(command: Command): Command {
  return command
    .option('--steps <n>', 'optimiser steps', integerOption('--steps', 1))
    .option('--batch-size <n>', 'pairs (or prompts) per step', integerOption('--batch-size', 1))
    .option('--lr <rate>', 'learning rate', numberOption('--lr', 0))
    .option('--held-out <fraction>', 'fraction of the data held out for evaluation', numberOption('--held-out', 0, 0.9), 0.1)
    .option('--seed <n>', 'random seed', integerOption('--seed', 0), 0)
    .option('--json', 'print one JSON summary');
}

function registerReward(program: Command): void {
  const reward = program.command('reward').description('train a reward model on preference pairs, or score completions with one');
  addCommonOptions(
    reward
      .command('train')
      .description('train a Bradley–Terry reward model (scalar head on the last token) on {"prompt","chosen","rejected"} JSONL')
      .requiredOption('--model <dir>', 'causal LM folder the reward model starts from')
      .requiredOption('--data <file>', 'preference pairs, TRL format')
      .requiredOption('--out <dir>', 'reward model folder to write'),
  ).action((flags: CommonFlags & { model: string; data: string; out: string }) => {
    const { records } = readJsonl(flags.data, 'preference');
    const { train, heldOut } = splitHeldOut(records, flags.heldOut);
    const { model: body, tokenizer } = loadCausalLM(flags.model);
    const model = new RewardModel(body, new Rng(flags.seed));
    const config = { ...REWARD_DEFAULTS, blockSize: body.contextLength, seed: flags.seed, ...(flags.steps && { steps: flags.steps }), ...(flags.batchSize && { batchSize: flags.batchSize }), ...(flags.lr && { learningRate: flags.lr }) };
    const before = heldOut.length > 0 ? pairwiseAccuracy(model, tokenizer, heldOut, config.blockSize) : NaN;
    const progress = createProgress({ total: config.steps, fields: ['loss', 'acc'], silent: Boolean(flags.json) });
    const history = trainRewardModel(model, tokenizer, train, heldOut, config, (record) => progress.update(record.step, { loss: record.loss.toFixed(3), acc: record.accuracy.toFixed(2) }));
    progress.stop();
    saveRewardModel(flags.out, model, tokenizer);
    writeJsonl(join(flags.out, 'metrics.jsonl'), history);
    const after = history[history.length - 1].eval_accuracy ?? NaN;
    const summary = { out: flags.out, steps: config.steps, train_pairs: train.length, held_out_pairs: heldOut.length, pairwise_accuracy_before: before, pairwise_accuracy: after, loss: history[history.length - 1].loss };
    if (flags.json) console.log(JSON.stringify(summary));
    else console.log(`held-out pairwise accuracy ${before.toFixed(3)} → ${after.toFixed(3)} (${heldOut.length} pairs); reward model: ${flags.out}`);
  });

  reward
    .command('score')
    .description('score completions with a reward model: one --prompt/--completion, or a JSONL file (pairs also give pairwise accuracy)')
    .requiredOption('--model <dir>', 'reward model folder')
    .option('--prompt <text>', 'prompt', '')
    .option('--completion <text>', 'completion to score')
    .option('--data <file>', 'JSONL of {"prompt","completion"} or {"prompt","chosen","rejected"}')
    .option('--json', 'print JSON')
    .action((flags: { model: string; prompt: string; completion?: string; data?: string; json?: boolean }) => {
      const { model, tokenizer } = loadRewardModel(flags.model);
      const blockSize = model.body.contextLength;
      if (flags.data === undefined) {
        if (flags.completion === undefined) throw new QkvValueError('reward score: give --completion (with --prompt) or --data');
        const [score] = model.scoreCompletions(tokenizer, [{ prompt: flags.prompt, completion: flags.completion }], blockSize);
        console.log(flags.json ? JSON.stringify({ reward: score }) : score.toFixed(4));
        return;
      }
      const { kind, records } = readJsonl(flags.data);
      if (kind === 'preference') {
        const accuracy = pairwiseAccuracy(model, tokenizer, records as PreferenceRecord[], blockSize);
        console.log(flags.json ? JSON.stringify({ pairs: records.length, pairwise_accuracy: accuracy }) : `pairwise accuracy ${accuracy.toFixed(3)} on ${records.length} pairs`);
        return;
      }
      if (kind !== 'promptCompletion') throw new QkvValueError(`${flags.data}: expected {"prompt","completion"} or preference pairs, found ${kind} records`);
      const samples = records as { prompt: string; completion: string }[];
      const scores = model.scoreCompletions(tokenizer, samples, blockSize);
      console.log(flags.json ? JSON.stringify({ rewards: scores }) : scores.map((score, i) => `${score.toFixed(4)}\t${JSON.stringify(samples[i].prompt + samples[i].completion)}`).join('\n'));
    });
}

interface DpoFlags extends CommonFlags, LoraFlags {
  model: string;
  data: string;
  out: string;
  beta: number;
  evalInterval: number;
}

function registerDpo(align: Command): void {
  const command = align
    .command('dpo')
    .description('direct preference optimisation on {"prompt","chosen","rejected"} JSONL against a frozen reference (with --lora: the model with adapters off)')
    .requiredOption('--model <dir>', 'policy (and reference) model folder')
    .requiredOption('--data <file>', 'preference pairs, TRL format')
    .requiredOption('--out <dir>', 'output: a model folder, or a PEFT adapter folder with --lora')
    .option('--beta <b>', 'β, the strength of the implicit KL constraint', numberOption('--beta', 0), DPO_DEFAULTS.beta)
    .option('--eval-interval <n>', 'evaluate on the held-out pairs every N steps', integerOption('--eval-interval', 1), DPO_DEFAULTS.evalInterval);
  addLoraOptions(command);
  addCommonOptions(command).action(async (flags: DpoFlags) => {
    const { records } = readJsonl(flags.data, 'preference');
    const { train, heldOut } = splitHeldOut(records, flags.heldOut);
    const { model: policy, tokenizer, generationConfig } = loadCausalLM(flags.model);
    const loraConfig = loraConfigFromFlags(flags);
    let reference: DpoReference;
    let lora = null;
    if (loraConfig) {
      const defaults = PEFT_DEFAULT_TARGET_MODULES[archOf(policy) === 'gpt' ? 'gpt2' : 'llama'];
      lora = applyLora(policy, loraConfig.target_modules.length > 0 ? loraConfig : { ...loraConfig, target_modules: [...defaults] });
      reference = { kind: 'adapters-disabled', lora };
    } else {
      reference = { kind: 'copy', model: loadCausalLM(flags.model).model.requiresGrad_(false) };
    }
    const config = { ...DPO_DEFAULTS, blockSize: policy.contextLength, beta: flags.beta, evalInterval: flags.evalInterval, seed: flags.seed, ...(flags.steps && { steps: flags.steps }), ...(flags.batchSize && { batchSize: flags.batchSize }), ...(flags.lr && { learningRate: flags.lr }) };
    const heldOutPrompts = [...new Set((heldOut.length > 0 ? heldOut : train).map((pair) => pair.prompt))].slice(0, 64);
    const sampledKL = () => policyKL(policy, referenceLogits(policy, reference), tokenizer, heldOutPrompts, 16);
    const progress = createProgress({ total: config.steps, fields: ['loss', 'margin', 'acc'], silent: Boolean(flags.json) });
    const { history, before, after } = trainDpo({
      policy, reference, tokenizer, train, heldOut, config,
      onStep: (record) => progress.update(record.step, { loss: record.loss.toFixed(3), margin: record['rewards/margins'].toFixed(3), acc: record['rewards/accuracies'].toFixed(2) }),
    });
    progress.stop();
    // KL along the policy's own greedy completions of the held-out prompts (0 before training: π = π_ref).
    const klHeldOutPrompts = await sampledKL();
    if (lora) saveLoraAdapter(flags.out, lora, { baseModelNameOrPath: flags.model });
    else saveCausalLM(flags.out, policy, tokenizer, generationConfig);
    writeJsonl(join(flags.out, 'metrics.jsonl'), history);
    const summary = { out: flags.out, steps: config.steps, beta: config.beta, reference: reference.kind, before, after, kl_held_out_prompts: klHeldOutPrompts };
    if (flags.json) console.log(JSON.stringify(summary));
    else {
      for (const [name, metrics] of [['before', before], ['after', after]] as const) {
        console.log(`${name}: accuracy ${metrics['rewards/accuracies'].toFixed(3)}, margin ${metrics['rewards/margins'].toFixed(4)}, loss ${metrics.loss.toFixed(4)}, KL to reference ${metrics.kl.toFixed(4)}`);
      }
      console.log(`KL to the reference along the policy's greedy completions of ${heldOutPrompts.length} held-out prompts: ${klHeldOutPrompts.toFixed(4)}`);
      console.log(`${lora ? 'adapter' : 'model folder'}: ${flags.out}`);
    }
  });
}

interface RlFlags extends Omit<CommonFlags, 'batchSize'> {
  model: string;
  rewardModel: string;
  prompts: string;
  out?: string;
  klCoef: number;
  samples: number;
  promptsPerStep: number;
  maxNewTokens: number;
  bestOfN: number;
  evalInterval: number;
  rule: string;
}

function registerRl(align: Command): void {
  align
    .command('rl')
    .description('optimise a policy against a learned reward model (REINFORCE, leave-one-out baseline, KL penalty β_KL); logs reward, KL and the rule-checked quality side by side')
    .requiredOption('--model <dir>', 'policy (and reference) model folder')
    .requiredOption('--reward-model <dir>', 'reward model folder (qkv reward train)')
    .requiredOption('--prompts <file>', 'JSONL whose records have a "prompt" (the last --held-out fraction is held out)')
    .option('--out <dir>', 'write the trained policy folder and metrics.jsonl here')
    .option('--kl-coef <b>', 'β_KL: weight of the KL penalty (0: none, the reward-hacking run)', numberOption('--kl-coef', 0), RL_DEFAULTS.klCoef)
    .option('--samples <k>', 'samples per prompt (≥ 2)', integerOption('--samples', 2), RL_DEFAULTS.samplesPerPrompt)
    .option('--prompts-per-step <n>', 'prompts per step', integerOption('--prompts-per-step', 1), RL_DEFAULTS.promptsPerStep)
    .option('--max-new-tokens <n>', 'longest completion', integerOption('--max-new-tokens', 1), RL_DEFAULTS.maxNewTokens)
    .option('--best-of-n <n>', 'also report best-of-n sampling from the reference (0: skip)', integerOption('--best-of-n', 0), 0)
    .option('--eval-interval <n>', 'evaluate every N steps', integerOption('--eval-interval', 1), RL_DEFAULTS.evalInterval)
    .option('--rule <name>', 'held-out quality measure: arithmetic (the answer is correct)', 'arithmetic')
    .option('--steps <n>', 'policy updates', integerOption('--steps', 1))
    .option('--lr <rate>', 'learning rate', numberOption('--lr', 0))
    .option('--held-out <fraction>', 'fraction of prompts held out', numberOption('--held-out', 0, 0.9), 0.1)
    .option('--seed <n>', 'random seed', integerOption('--seed', 0), 0)
    .option('--json', 'print one JSON summary')
    .action(async (flags: RlFlags) => {
      if (flags.rule !== 'arithmetic') throw new InvalidArgumentError(`--rule must be arithmetic, got "${flags.rule}"`);
      const quality = (prompt: string, completion: string) => (isCorrectAnswer(prompt, completion) ? 1 : 0);
      const { records } = readJsonl(flags.prompts);
      const prompts = records.map((record, i) => {
        if (!('prompt' in record)) throw new QkvValueError(`${flags.prompts}: record ${i + 1} has no "prompt"`);
        return record.prompt;
      });
      const { train, heldOut } = splitHeldOut(prompts, flags.heldOut);
      const { model: policy, tokenizer, generationConfig } = loadCausalLM(flags.model);
      const reference = loadCausalLM(flags.model).model.requiresGrad_(false);
      const { model: rewardModel } = loadRewardModel(flags.rewardModel);
      const config = { ...RL_DEFAULTS, klCoef: flags.klCoef, samplesPerPrompt: flags.samples, promptsPerStep: flags.promptsPerStep, maxNewTokens: flags.maxNewTokens, evalInterval: flags.evalInterval, seed: flags.seed, ...(flags.steps && { steps: flags.steps }), ...(flags.lr && { learningRate: flags.lr }) };
      const progress = createProgress({ total: config.steps, fields: ['reward', 'kl'], silent: Boolean(flags.json) });
      const table: string[] = [];
      const history = await trainRl({
        policy, reference, rewardModel, tokenizer, prompts: train, heldOutPrompts: heldOut, quality, config,
        onStep: (record) => {
          progress.update(record.step, { reward: Number.isNaN(record.reward) ? '-' : record.reward.toFixed(3), kl: record.kl.toFixed(3) });
          if (record.eval) table.push(`${String(record.step).padStart(5)}  ${record.eval.reward.toFixed(3).padStart(8)}  ${record.eval.kl.toFixed(3).padStart(8)}  ${record.eval.quality.toFixed(3).padStart(8)}  ${record.eval.examples.join(' | ').replace(/\n/g, '⏎')}`);
        },
      });
      progress.stop();
      const best = flags.bestOfN > 0 ? await bestOfN({ reference, rewardModel, tokenizer, heldOutPrompts: heldOut, quality, n: flags.bestOfN, maxNewTokens: config.maxNewTokens, seed: flags.seed }) : null;
      if (flags.out !== undefined) {
        saveCausalLM(flags.out, policy, tokenizer, generationConfig);
        writeJsonl(join(flags.out, 'metrics.jsonl'), history);
        writeFileAtomic(join(flags.out, 'rl_table.txt'), table.join('\n') + '\n');
      }
      const evaluations = history.filter((record) => record.eval).map((record) => ({ step: record.step, reward: round(record.eval!.reward), kl: round(record.eval!.kl), quality: round(record.eval!.quality), examples: record.eval!.examples }));
      if (flags.json) console.log(JSON.stringify({ kl_coef: config.klCoef, steps: config.steps, evaluations, best_of_n: best && { n: flags.bestOfN, reward: round(best.reward), quality: round(best.quality), kl_bound: round(best.klBound) } }));
      else {
        console.log(`β_KL = ${config.klCoef}; held-out prompts: ${heldOut.length}`);
        console.log(' step    reward        KL   quality  greedy completions');
        console.log(table.join('\n'));
        if (best) console.log(`best-of-${flags.bestOfN} from the reference: reward ${best.reward.toFixed(3)}, quality ${best.quality.toFixed(3)}, KL ≤ ${best.klBound.toFixed(3)}`);
      }
    });
}

function registerData(align: Command): void {
  align
    .command('data')
    .description('write seeded, rule-checked datasets: arithmetic instructions, preference pairs, or plain text')
    .requiredOption('--task <name>', 'instructions ({"prompt","completion"}), preferences ({"prompt","chosen","rejected"}) or text (one worked sum per line)')
    .requiredOption('--out <file>', 'file to write')
    .option('--count <n>', 'records', integerOption('--count', 1), 1000)
    .option('--max-operand <n>', 'operands from 0 to n', integerOption('--max-operand', 1), 20)
    .option('--operation <op>', '+ or -', '+')
    .option('--suffix-rate <p>', 'preferences: fraction of chosen answers that also end in "!" (a spurious feature)', numberOption('--suffix-rate', 0, 1), 0)
    .option('--seed <n>', 'random seed', integerOption('--seed', 0), 0)
    .action((flags: { task: string; out: string; count: number; maxOperand: number; operation: string; suffixRate: number; seed: number }) => {
      if (flags.operation !== '+' && flags.operation !== '-') throw new InvalidArgumentError(`--operation must be + or -, got "${flags.operation}"`);
      const options = { count: flags.count, seed: flags.seed, maxOperand: flags.maxOperand, operation: flags.operation as '+' | '-' };
      if (flags.task === 'instructions') writeJsonl(flags.out, arithmeticInstructions(options));
      else if (flags.task === 'preferences') writeJsonl(flags.out, arithmeticPreferences({ ...options, suffixRate: flags.suffixRate }));
      else if (flags.task === 'text') writeFileAtomic(flags.out, arithmeticText(options));
      else throw new InvalidArgumentError(`--task must be instructions, preferences or text, got "${flags.task}"`);
      console.log(`wrote ${flags.count} ${flags.task} records to ${flags.out}`);
    });
}

export function registerAlignCommands(program: Command): void {
  registerReward(program);
  const align = program.command('align').description('align a model with preferences: DPO, RL against a reward model, and datasets to try them on');
  registerDpo(align);
  registerRl(align);
  registerData(align);
}
