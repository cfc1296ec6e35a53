/**
 * `node --import tsx bench/adapt.ts [finetune|align|all]`: the measurements behind issue 13's
 * closing note, on a small GPT pre-trained here on addition facts (`12+7=19`, one per line):
 *
 * - finetune: a new task (subtraction, `{"prompt": "15-8=", "completion": "7"}`), base vs full
 *   fine-tuning vs LoRA r = 1, 4, 8, 16 — held-out completion loss and exact-match accuracy
 *   (greedy), trainable parameters, peak RSS and median time per step. Each variant runs in its
 *   own process, so peak memory is its own.
 * - align: a reward model on addition preference pairs (correct vs a near-miss; half the chosen
 *   answers also end in "!", a spurious feature), its held-out pairwise accuracy; DPO with LoRA
 *   (reference = adapters off) before/after; RL against the reward model with β_KL = 0 and > 0
 *   (reward, KL, rule-checked quality by step) and best-of-n from the base.
 */
import { execFileSync } from 'node:child_process';
import { applyLora } from '../src/adapt/lora.ts';
import { arithmeticInstructions, arithmeticPreferences, arithmeticQuality, arithmeticText } from '../src/align/data.ts';
import { evaluateDpo, trainDpo, type DpoMetrics } from '../src/align/dpo.ts';
import { RewardModel, pairwiseAccuracy, trainRewardModel } from '../src/align/reward-model.ts';
import { bestOfN, sampleCompletions, trainRl } from '../src/align/rl.ts';
import { GPT } from '../src/models/gpt.ts';
import type { CausalLM } from '../src/models/causal-lm.ts';
import { AdamW } from '../src/optim/index.ts';
import { Rng } from '../src/tensor/random.ts';
import { trainCharTokenizer } from '../src/tokenizers/char.ts';
import { TokenDataset } from '../src/train/data.ts';
import { ExampleDataset } from '../src/train/finetune-data.ts';
import { completionLoss } from '../src/train/finetune.ts';
import { TRAIN_DEFAULTS, trainLanguageModel } from '../src/train/trainer.ts';
import type { PreferenceRecord } from '../src/adapt/jsonl.ts';

const tokenizer = trainCharTokenizer('0123456789+-=!\n', { specialTokens: ['<|endoftext|>'] });
const MODEL = { vocab_size: tokenizer.vocabSize, n_layer: 2, n_embd: 64, n_head: 4, n_positions: 16 };
const PRETRAIN_STEPS = Number(process.env.PRETRAIN_STEPS ?? 600);
const FINETUNE_STEPS = Number(process.env.FINETUNE_STEPS ?? 300);

/** The base model: pre-trained on addition facts with a fixed seed, so every process builds the same one. */
async function pretrainedBase(): Promise<GPT> {
  const model = new GPT(MODEL, { rng: new Rng(1) });
  const text = arithmeticText({ count: 6000, seed: 11, maxOperand: 20 });
  const dataset = new TokenDataset(tokenizer.encodeIds(text), 0.05);
  await trainLanguageModel({
    model, dataset, outDir: null, saveModel: () => {},
    config: { ...TRAIN_DEFAULTS, steps: PRETRAIN_STEPS, batchSize: 16, blockSize: 16, learningRate: 3e-3, minLearningRate: 3e-4, warmupSteps: 30, evalInterval: PRETRAIN_STEPS, evalBatches: 4 },
  });
  return model;
}

async function accuracy(model: CausalLM, prompts: { prompt: string }[]): Promise<number> {
  const samples = await sampleCompletions(model, tokenizer, prompts.map((p) => p.prompt), { maxNewTokens: 4, temperature: 0, rng: new Rng(0) });
  return arithmeticQuality(samples);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One fine-tuning variant ('base', 'full', 'lora1', 'lora4', …), printed as one JSON line. */
async function finetuneVariant(variant: string): Promise<void> {
  const model = await pretrainedBase();
  const records = arithmeticInstructions({ count: 2200, seed: 21, maxOperand: 20, operation: '-' });
  const data = ExampleDataset.fromRecords(records, tokenizer, { validationFraction: 200 / 2200, seed: 0 });
  const heldOutPrompts = data.validation.map((example) => ({ prompt: tokenizer.decode(example.ids.slice(0, example.trainable.indexOf(true))) }));
  const rank = variant.startsWith('lora') ? Number(variant.slice(4)) : 0;
  if (rank > 0) applyLora(model, { r: rank, lora_alpha: 2 * rank, lora_dropout: 0, target_modules: ['c_attn', 'c_proj', 'c_fc'] }, { rng: new Rng(5) });
  const trainable = model.numParameters({ trainableOnly: true });
  let stepMs = NaN;
  let peak = process.memoryUsage().rss;
  if (variant !== 'base') {
    const summary = await trainLanguageModel({
      model, dataset: data, outDir: null, saveModel: () => {},
      config: { ...TRAIN_DEFAULTS, steps: FINETUNE_STEPS, batchSize: 16, blockSize: 16, learningRate: rank > 0 ? 5e-3 : 1e-3, minLearningRate: rank > 0 ? 5e-4 : 1e-4, weightDecay: 0, warmupSteps: 20, evalInterval: FINETUNE_STEPS, evalBatches: 2 },
    });
    const times = summary.history.slice(1).map((record, i) => 1000 * (record.elapsed_s - summary.history[i].elapsed_s));
    stepMs = median(times);
    peak = summary.peakRssBytes;
  }
  const heldOutLoss = completionLoss(model, data, 'validation', 50, 16);
  const heldOutAccuracy = await accuracy(model, heldOutPrompts);
  console.log(JSON.stringify({ variant, trainable, total: model.numParameters(), heldOutLoss, heldOutAccuracy, stepMs, peakRssMiB: peak / 2 ** 20 }));
}

async function align(): Promise<void> {
  const base = await pretrainedBase();
  const pairs = arithmeticPreferences({ count: 1200, seed: 31, maxOperand: 20, suffixRate: Number(process.env.SUFFIX_RATE ?? 0.5) });
  const [train, heldOut] = [pairs.slice(0, 1000), pairs.slice(1000)];
  const cleanHeldOut = arithmeticPreferences({ count: 200, seed: 32, maxOperand: 20, suffixRate: 0 });
  const prompts = arithmeticInstructions({ count: 300, seed: 33, maxOperand: 20 }).map((record) => record.prompt);
  const [rlPrompts, heldOutPrompts] = [prompts.slice(0, 260), prompts.slice(260)];
  const quality = (prompt: string, completion: string) => arithmeticQuality([{ prompt, completion }]);
  console.log(`base greedy accuracy on held-out sums: ${(await accuracy(base, heldOutPrompts.map((prompt) => ({ prompt })))).toFixed(3)}`);

  // Reward model: a copy of the base with a score head.
  const rmBody = await pretrainedBase();
  const rewardModel = new RewardModel(rmBody, new Rng(3));
  const before = pairwiseAccuracy(rewardModel, tokenizer, heldOut, 16);
  const t0 = performance.now();
  trainRewardModel(rewardModel, tokenizer, train, heldOut, { steps: Number(process.env.RM_STEPS ?? 300), batchSize: 16, learningRate: 1e-3, blockSize: 16, evalInterval: 300, seed: 0 });
  console.log(`reward model: held-out pairwise accuracy ${before.toFixed(3)} → ${pairwiseAccuracy(rewardModel, tokenizer, heldOut, 16).toFixed(3)}; on clean pairs (no "!") ${pairwiseAccuracy(rewardModel, tokenizer, cleanHeldOut, 16).toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  rewardModel.requiresGrad_(false);

  if (process.env.SKIP_DPO !== '1') await dpoRun(train, heldOut, cleanHeldOut, heldOutPrompts);
  await rlRuns(rewardModel, rlPrompts, heldOutPrompts, quality);
}

async function dpoRun(train: PreferenceRecord[], heldOut: PreferenceRecord[], cleanHeldOut: PreferenceRecord[], heldOutPrompts: string[]): Promise<void> {
  // DPO with LoRA; the reference is the same model with adapters off.
  const policy = await pretrainedBase();
  const lora = applyLora(policy, { r: 8, lora_alpha: 16, lora_dropout: 0, target_modules: ['c_attn', 'c_proj', 'c_fc'] }, { rng: new Rng(4) });
  const reference = { kind: 'adapters-disabled' as const, lora };
  const dpoStart = evaluateDpo(policy, reference, tokenizer, cleanHeldOut, { blockSize: 16 });
  const dpo = trainDpo({ policy, reference, tokenizer, train, heldOut, config: { steps: 150, batchSize: 16, learningRate: Number(process.env.DPO_LR ?? 5e-4), beta: 0.1, blockSize: 16, evalInterval: 50, gradClip: 1, seed: 0 } });
  const dpoClean = evaluateDpo(policy, reference, tokenizer, cleanHeldOut, { blockSize: 16 });
  const fmt = (m: DpoMetrics & { kl: number }) =>
    `acc ${m['rewards/accuracies'].toFixed(3)} margin ${m['rewards/margins'].toFixed(3)} chosen ${m['rewards/chosen'].toFixed(3)} rejected ${m['rewards/rejected'].toFixed(3)} loss ${m.loss.toFixed(4)} KL ${m.kl.toFixed(4)}`;
  console.log(`DPO held-out (suffix pairs) before: ${fmt(dpo.before)}`);
  console.log(`DPO held-out (suffix pairs) after:  ${fmt(dpo.after)}`);
  console.log(`DPO clean pairs before: ${fmt(dpoStart)}`);
  console.log(`DPO clean pairs after:  ${fmt(dpoClean)}`);
  for (const record of dpo.history.filter((r) => r.eval)) console.log(`  DPO step ${record.step}: ${fmt(record.eval!)}`);
  const dpoSamples = await sampleCompletions(policy, tokenizer, heldOutPrompts, { maxNewTokens: 4, temperature: 0, rng: new Rng(0) });
  console.log(`DPO policy greedy accuracy on held-out sums: ${arithmeticQuality(dpoSamples).toFixed(3)} (${dpoSamples.slice(0, 3).map((s) => s.prompt + s.completion).join(' | ').replace(/\n/g, '⏎')})`);

}

async function rlRuns(rewardModel: RewardModel, rlPrompts: string[], heldOutPrompts: string[], quality: (prompt: string, completion: string) => number): Promise<void> {
  // RL against the reward model, without and with the KL penalty; then best-of-n.
  const frozen = (await pretrainedBase()).requiresGrad_(false);
  for (const klCoef of (process.env.KL_COEFS ?? '0,1,3').split(',').map(Number)) {
    const rlPolicy = await pretrainedBase();
    console.log(`RL β_KL = ${klCoef}:   step  reward      KL  quality  examples`);
    await trainRl({
      policy: rlPolicy, reference: frozen, rewardModel, tokenizer, prompts: rlPrompts, heldOutPrompts, quality,
      config: { steps: Number(process.env.RL_STEPS ?? 80), promptsPerStep: 4, samplesPerPrompt: 4, maxNewTokens: 5, temperature: 1, learningRate: Number(process.env.RL_LR ?? 3e-3), klCoef, evalInterval: 10, seed: 0 },
      onStep: (record) => {
        if (record.eval) console.log(`  ${String(record.step).padStart(18)}  ${record.eval.reward.toFixed(3).padStart(6)}  ${record.eval.kl.toFixed(3).padStart(6)}  ${record.eval.quality.toFixed(3).padStart(6)}  ${record.eval.examples.join(' | ').replace(/\n/g, '⏎')}`);
      },
    });
  }
  for (const n of [1, 4, 16]) {
    const best = await bestOfN({ reference: frozen, rewardModel, tokenizer, heldOutPrompts, quality, n, maxNewTokens: 5 });
    console.log(`best-of-${n}: reward ${best.reward.toFixed(3)} quality ${best.quality.toFixed(3)} KL ≤ ${best.klBound.toFixed(3)}`);
  }
}

/** Time per training step, full vs LoRA ranks, interleaved round-robin on the same batch so load noise hits all alike. */
function timing(rounds = 40): void {
  const records = arithmeticInstructions({ count: 200, seed: 21, maxOperand: 20, operation: '-' });
  const data = ExampleDataset.fromRecords(records, tokenizer, { validationFraction: 0 });
  const batch = data.sampleBatch('train', 16, 16, new Rng(0));
  const variants = ['full', 'lora1', 'lora4', 'lora8', 'lora16'].map((name) => {
    const model = new GPT(MODEL, { rng: new Rng(1) });
    const rank = name === 'full' ? 0 : Number(name.slice(4));
    if (rank > 0) applyLora(model, { r: rank, lora_alpha: 2 * rank, lora_dropout: 0, target_modules: ['c_attn', 'c_proj', 'c_fc'] });
    const optimizer = new AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-3 });
    return { name, model, optimizer, times: [] as number[] };
  });
  for (let round = 0; round < rounds; round++) {
    for (const variant of variants) {
      const started = performance.now();
      variant.model.forward(batch.ids, { targets: batch.targets }).loss!.backward();
      variant.optimizer.step();
      variant.optimizer.zeroGrad();
      if (round >= 5) variant.times.push(performance.now() - started); // the first rounds warm up the JIT
    }
  }
  console.log(`load average ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`);
  for (const variant of variants) console.log(`${variant.name.padEnd(7)} median step ${median(variant.times).toFixed(1)} ms (${variant.times.length} steps, B=16, T=${batch.ids.shape[1]})`);
}

const [mode = 'all', variant] = process.argv.slice(2);
if (mode === 'timing') timing();
if (mode === 'variant') await finetuneVariant(variant);
if (mode === 'finetune' || mode === 'all') {
  console.log(`load average ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`);
  for (const name of ['base', 'full', 'lora1', 'lora4', 'lora8', 'lora16']) {
    process.stdout.write(execFileSync(process.execPath, ['--import', 'tsx', 'bench/adapt.ts', 'variant', name], { env: process.env }));
  }
}
if (mode === 'align' || mode === 'all') await align();
