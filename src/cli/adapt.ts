/**
 * `qkv finetune`, `qkv merge`, `qkv reward`, `qkv align` (issue 13): fine-tuning (full or
 * LoRA), merging an adapter into a plain model folder, the reward model, DPO and RL against a
 * reward model. Each has `--help`, a progress bar on stderr and `--json` output.
 */
import { type Command } from 'commander';
import { readChatTemplate } from '../adapt/chat-template.ts';
import { LORA_DEFAULTS, type LoraConfig } from '../adapt/lora.ts';
import { loadLoraAdapter } from '../adapt/peft-files.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { loadCausalLM, saveCausalLM } from '../models/load.ts';
import { finetune } from '../train/finetune.ts';
import type { TrainConfig } from '../train/trainer.ts';
import { registerAlignCommands } from './adapt-align.ts';
import { trainConfigFromFlags, type TrainingFlags } from './training-flags.ts';
import { collect, integerOption, numberOption } from './options.ts';
import { createProgress } from './progress.ts';
import { join } from 'node:path';

export function addTrainingOptions(command: Command): Command {
  return command
    .option('--steps <n>', 'optimiser steps', integerOption('--steps', 1))
    .option('--batch-size <n>', 'examples per micro-batch', integerOption('--batch-size', 1))
    .option('--block-size <n>', 'longest sequence in tokens (default: the model context)', integerOption('--block-size', 2))
    .option('--grad-accum <n>', 'micro-batches per optimiser step', integerOption('--grad-accum', 1))
    .option('--lr <rate>', 'peak learning rate', numberOption('--lr', 0))
    .option('--warmup <n>', 'warm-up steps', integerOption('--warmup', 0))
    .option('--eval-interval <n>', 'evaluate every N steps', integerOption('--eval-interval', 1))
    .option('--checkpoint-interval <n>', 'checkpoint every N steps (0: at the end)', integerOption('--checkpoint-interval', 0))
    .option('--seed <n>', 'random seed', integerOption('--seed', 0));
}

/** `--target c_attn --target c_proj` or `--target c_attn,c_proj`; a value with regex characters is one regex. */
export function targetModulesFromFlags(targets: string[] | undefined): string[] | string {
  if (targets === undefined || targets.length === 0) return [];
  if (targets.length === 1 && /[\\^$*+?()[\]{}|]/.test(targets[0])) return targets[0];
  return targets.flatMap((target) => target.split(',')).map((target) => target.trim()).filter(Boolean);
}

export interface LoraFlags {
  lora?: boolean;
  r: number;
  alpha?: number;
  dropout: number;
  target?: string[];
}

export function addLoraOptions(command: Command): Command {
  return command
    .option('--lora', 'train a LoRA adapter (PEFT files) instead of every weight')
    .option('--r <n>', 'LoRA rank', integerOption('--r', 1), LORA_DEFAULTS.r)
    .option('--alpha <a>', 'LoRA alpha; the update is scaled by alpha/r (default 2r)', numberOption('--alpha', 0))
    .option('--dropout <p>', 'dropout on the adapter input', numberOption('--dropout', 0, 0.99), LORA_DEFAULTS.lora_dropout)
    .option('--target <names>', "layers to adapt: names (repeatable or comma-separated) or one regex (default PEFT's: c_attn for GPT-2, q_proj,v_proj for Llama)", collect);
}

export function loraConfigFromFlags(flags: LoraFlags): LoraConfig | null {
  if (!flags.lora) return null;
  return { r: flags.r, lora_alpha: flags.alpha ?? 2 * flags.r, lora_dropout: flags.dropout, target_modules: targetModulesFromFlags(flags.target) };
}

interface FinetuneFlags extends TrainingFlags, LoraFlags {
  model: string;
  data: string;
  out: string;
  resume?: boolean;
  json?: boolean;
}

function registerFinetune(program: Command): void {
  const command = program
    .command('finetune')
    .description('fine-tune a model folder on text or JSONL instruction data ({"prompt","completion"} or {"messages"}), fully or with LoRA')
    .requiredOption('--model <dir>', 'base model folder')
    .requiredOption('--data <file>', 'plain text, or .jsonl with {"prompt","completion"} / {"messages":[…]} per line (loss on completions only)')
    .requiredOption('--out <dir>', 'output: a model folder, or a PEFT adapter folder with --lora')
    .option('--resume', 'continue the run checkpointed in --out');
  addLoraOptions(command);
  addTrainingOptions(command)
    .option('--json', 'print one JSON summary')
    .action(async (flags: FinetuneFlags) => {
      const log = flags.json ? () => {} : (line: string) => console.log(line);
      let progress: ReturnType<typeof createProgress> | null = null;
      let lastVal = '-';
      const result = await finetune({
        modelDir: flags.model,
        dataFile: flags.data,
        outDir: flags.out,
        lora: loraConfigFromFlags(flags),
        train: trainConfigFromFlags(flags),
        resume: flags.resume,
        log,
        hooks: {
          onStart: (config, start) => {
            progress = createProgress({ total: config.steps, start, fields: ['loss', 'val', 'lr'], silent: Boolean(flags.json) });
          },
          onStep: (record) => {
            if (record.val_loss !== undefined) lastVal = record.val_loss.toFixed(3);
            progress?.update(record.step, { loss: record.loss.toFixed(3), val: lastVal, lr: record.lr.toExponential(1) });
          },
        },
      });
      (progress as ReturnType<typeof createProgress> | null)?.stop();
      const summary = {
        out: flags.out,
        mode: result.lora ? 'lora' : 'full',
        data_kind: result.dataKind,
        steps: result.summary.steps,
        trainable_parameters: result.trainableParameters,
        total_parameters: result.totalParameters,
        base_held_out_loss: result.baseHeldOutLoss,
        held_out_loss: result.heldOutLoss,
        loss: result.summary.finalLoss,
        wall_time_s: result.summary.wallTimeSeconds,
        time_per_step_ms: (1000 * result.summary.wallTimeSeconds) / Math.max(1, result.summary.history.length),
        peak_rss_bytes: result.summary.peakRssBytes,
      };
      if (flags.json) console.log(JSON.stringify(summary));
      else {
        log(`held-out loss ${summary.base_held_out_loss.toFixed(4)} → ${summary.held_out_loss.toFixed(4)} in ${summary.steps} steps (${summary.time_per_step_ms.toFixed(0)} ms/step, peak ${(summary.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB)`);
        log(`${summary.mode === 'lora' ? 'adapter' : 'model folder'}: ${flags.out}`);
      }
    });
}

function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('merge a LoRA adapter into its base model and write a plain model folder')
    .requiredOption('--model <dir>', 'base model folder')
    .requiredOption('--adapter <dir>', 'PEFT adapter folder (adapter_config.json, adapter_model.safetensors)')
    .requiredOption('--out <dir>', 'model folder to write')
    .option('--json', 'print one JSON summary')
    .action((flags: { model: string; adapter: string; out: string; json?: boolean }) => {
      const { model, tokenizer, generationConfig } = loadCausalLM(flags.model);
      const lora = loadLoraAdapter(model, flags.adapter);
      const layers = lora.layerPaths.length;
      const { r, lora_alpha } = lora.config('default');
      lora.mergeAndUnload();
      const files = saveCausalLM(flags.out, model, tokenizer, generationConfig);
      const template = readChatTemplate(flags.model);
      if (template !== null) writeFileAtomic(join(flags.out, 'chat_template.jinja'), template);
      if (flags.json) console.log(JSON.stringify({ out: flags.out, merged_layers: layers, r, lora_alpha, files }));
      else console.log(`merged ${layers} layers (r=${r}, alpha=${lora_alpha}) into ${flags.out}`);
    });
}

export function registerAdaptCommands(program: Command): void {
  registerFinetune(program);
  registerMerge(program);
  registerAlignCommands(program);
}
