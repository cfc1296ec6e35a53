/**
 * Fine-tuning a model folder on new data, fully (every weight) or with LoRA (only the adapter):
 * plain text (language modelling, as `qkv train`), or JSONL instruction data — `{"prompt",
 * "completion"}` or chat `{"messages"}` rendered with the folder's chat template — with the loss
 * on completion tokens only. The trainer (AdamW, schedule, clipping, accumulation, checkpoints,
 * resume, progress hooks) is `trainLanguageModel`'s; this file only chooses the data, the
 * trainable parameters and what a checkpoint writes: the whole model folder, or the PEFT adapter.
 *
 * @example
 * const result = await finetune({ modelDir: 'runs/small', dataFile: 'sums.jsonl', outDir: 'runs/sums-lora',
 *   lora: { r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['c_attn'] } });
 * result.heldOutLoss; // mean cross-entropy over the held-out completion tokens
 */
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { readChatTemplate } from '../adapt/chat-template.ts';
import { readJsonl, type JsonlKind } from '../adapt/jsonl.ts';
import { PEFT_DEFAULT_TARGET_MODULES, applyLora, type LoraConfig, type LoraModel } from '../adapt/lora.ts';
import { loadLoraAdapter, saveLoraAdapter } from '../adapt/peft-files.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { loadCausalLM, saveCausalLM } from '../models/load.ts';
import { noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { hasTrainerState, loadTrainerState } from './checkpoint.ts';
import { TokenDataset, readTextFiles } from './data.ts';
import { archOf } from './run.ts';
import { ExampleDataset, IGNORE_INDEX, type InstructionRecord } from './finetune-data.ts';
import { TRAIN_DEFAULTS, evaluateLoss, trainLanguageModel, type TrainConfig, type TrainHooks, type TrainSummary } from './trainer.ts';

/**
 * Fine-tuning defaults: fewer steps than pre-training, no weight decay (HF Trainer's default;
 * decaying a LoRA update pulls it back to the base), a short warm-up.
 */
export const FINETUNE_DEFAULTS: Partial<TrainConfig> = {
  steps: 200,
  batchSize: 8,
  learningRate: 1e-3,
  minLearningRate: 1e-4,
  weightDecay: 0,
  evalInterval: 50,
  evalBatches: 4,
};

export interface FinetuneOptions {
  /** The base model folder (config.json, model.safetensors, tokenizer.json). */
  modelDir: string;
  /** Plain text (any extension but .jsonl/.json) or JSONL instruction data. */
  dataFile: string;
  /** Where the fine-tuned folder (or the adapter, with LoRA) and checkpoints go; null keeps nothing. */
  outDir: string | null;
  /** Train a LoRA adapter instead of every weight (empty `target_modules`: PEFT's default for the architecture). */
  lora?: LoraConfig | null;
  /** Training settings over FINETUNE_DEFAULTS (block size defaults to the model's context). */
  train?: Partial<TrainConfig>;
  /** Fraction held out (tokens for text, examples for JSONL); default 0.1. */
  validationFraction?: number;
  /** Continue the run checkpointed in `outDir`. */
  resume?: boolean;
  hooks?: TrainHooks;
  log?: (line: string) => void;
}

export interface FinetuneResult {
  model: CausalLM;
  tokenizer: Tokenizer;
  lora: LoraModel | null;
  dataKind: Exclude<JsonlKind, 'preference'> | 'plain-text';
  summary: TrainSummary;
  config: TrainConfig;
  trainableParameters: number;
  totalParameters: number;
  /** Held-out loss before training (the base model) and after, in nats per (completion) token. */
  baseHeldOutLoss: number;
  heldOutLoss: number;
}

/** Reads the data file as plain text or as JSONL instruction records (preference pairs are refused: they are for `reward`/`dpo`). */
export function readFinetuneData(path: string): { kind: 'plain-text'; text: string } | { kind: Exclude<JsonlKind, 'preference'>; records: InstructionRecord[] } {
  const extension = extname(path).toLowerCase();
  if (extension !== '.jsonl' && extension !== '.json') return { kind: 'plain-text', text: readTextFiles([path]) };
  const { kind, records } = readJsonl(path);
  if (kind === 'preference') throw new QkvValueError(`${path}: preference pairs (prompt/chosen/rejected) are for \`qkv reward train\` and \`qkv align dpo\`, not fine-tuning`);
  return { kind, records: records as InstructionRecord[] };
}

/** Mean cross-entropy over every completion token of a split (the full held-out measure, no sampling). */
export function completionLoss(model: CausalLM, data: ExampleDataset, split: 'train' | 'validation', batchSize: number, blockSize: number): number {
  const wasTraining = model.training;
  model.eval();
  let total = 0;
  let count = 0;
  noGrad(() => {
    for (const batch of data.batches(split, batchSize, blockSize)) {
      const { logits } = model.forward(batch.ids); // (B, T, V)
      total += crossEntropy(logits, batch.targets, { reduction: 'sum', ignoreIndex: IGNORE_INDEX }).item();
      count += batch.targets.toArray().filter((target) => target !== IGNORE_INDEX).length;
    }
  });
  if (wasTraining) model.train();
  return count === 0 ? NaN : total / count;
}

export async function finetune(options: FinetuneOptions): Promise<FinetuneResult> {
  const log = options.log ?? (() => {});
  const { outDir } = options;
  const data = readFinetuneData(options.dataFile); // before anything is built or written
  const resuming = options.resume === true;
  if (resuming && (outDir === null || !hasTrainerState(outDir))) {
    throw new QkvValueError(`--resume: ${outDir ?? '(no --out)'} holds no checkpoint (trainer_state.json and optimizer.safetensors)`);
  }
  // A resumed full fine-tune continues from the weights in outDir; LoRA from the base plus the saved adapter.
  const source = resuming && !options.lora ? outDir! : options.modelDir;
  const { model, tokenizer, generationConfig } = loadCausalLM(source);
  const chatTemplate = readChatTemplate(options.modelDir) ?? undefined;

  let lora: LoraModel | null = null;
  if (options.lora) {
    const targets = options.lora.target_modules;
    const config = targets.length > 0 ? options.lora : { ...options.lora, target_modules: [...PEFT_DEFAULT_TARGET_MODULES[archOf(model) === 'gpt' ? 'gpt2' : 'llama']] };
    lora = resuming ? loadLoraAdapter(model, outDir!) : applyLora(model, config);
    lora.markOnlyAdapterTrainable();
  }
  const steps = options.train?.steps ?? FINETUNE_DEFAULTS.steps!;
  let config: TrainConfig = {
    ...TRAIN_DEFAULTS,
    ...FINETUNE_DEFAULTS,
    blockSize: model.contextLength,
    warmupSteps: Math.min(20, Math.floor(steps / 10)),
    ...options.train,
  };
  if (resuming) {
    const saved = loadTrainerState(outDir!).train_config as unknown as TrainConfig;
    config = { ...saved, steps: Math.max(saved.steps, options.train?.steps ?? 0) };
    log(`resuming from ${outDir}`);
  }

  const fraction = options.validationFraction ?? 0.1;
  let dataset: TokenDataset | ExampleDataset;
  let heldOut: () => number;
  if (data.kind === 'plain-text') {
    const tokens = new TokenDataset(tokenizer.encodeIds(data.text), fraction);
    config.blockSize = Math.min(config.blockSize, tokens.validation.length - 1, tokens.train.length - 1);
    dataset = tokens;
    heldOut = () => evaluateLoss(model, tokens, config, config.evalBatches);
  } else {
    const examples = ExampleDataset.fromRecords(data.records, tokenizer, { validationFraction: fraction, chatTemplate, seed: config.seed });
    dataset = examples;
    heldOut = () => (examples.validation.length === 0 ? NaN : completionLoss(model, examples, 'validation', config.batchSize, config.blockSize));
    log(`${data.records.length} ${data.kind} examples: ${examples.train.length} train, ${examples.validation.length} held out`);
    const truncated = [...examples.train, ...examples.validation].filter((example) => example.ids.length > config.blockSize + 1).length;
    if (truncated > 0) log(`warning: ${truncated} examples are longer than the block size ${config.blockSize} and are cut (their completions may be lost)`);
  }
  const trainableParameters = model.numParameters({ trainableOnly: true });
  const totalParameters = model.numParameters();
  log(`trainable parameters: ${trainableParameters} of ${totalParameters} (${((100 * trainableParameters) / totalParameters).toFixed(2)}%)`);
  const baseHeldOutLoss = heldOut();

  const saveModel = (dir: string): void => {
    if (lora !== null) saveLoraAdapter(dir, lora, { baseModelNameOrPath: options.modelDir });
    else {
      saveCausalLM(dir, model, tokenizer, generationConfig);
      // The fine-tuned folder keeps the template its data was rendered with.
      if (chatTemplate !== undefined && !existsSync(join(dir, 'chat_template.jinja'))) writeFileAtomic(join(dir, 'chat_template.jinja'), chatTemplate);
    }
  };
  const summary = await trainLanguageModel({ model, dataset, config, outDir, resume: resuming, saveModel, hooks: options.hooks });
  const heldOutLoss = heldOut();
  return { model, tokenizer, lora, dataKind: data.kind, summary, config, trainableParameters, totalParameters, baseHeldOutLoss, heldOutLoss };
}
