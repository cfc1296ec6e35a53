/**
 * `qkv export`, `qkv quantize`, `qkv prune` (issue 16): a model folder in, a file or folder out.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { statSync } from 'node:fs';
import { QUANT_FORMATS, type QuantFormat } from '../compress/formats.ts';
import { fineTunePruned, magnitudePrune, measuredSparsity, type PruneScope } from '../compress/prune-magnitude.ts';
import { headImportance, leastImportantHeads, pruneHeads, prunedHeadsOf } from '../compress/prune-heads.ts';
import { savePrunedGPT } from '../compress/pruned-folder.ts';
import { quantizeModel, saveQuantizedCausalLM } from '../compress/quantize-model.ts';
import { exportGguf, GGUF_EXPORT_TYPES, type GgufExportType } from '../io/gguf-model.ts';
import { GPT } from '../models/gpt.ts';
import { loadCausalLM, loadModel, saveCausalLM } from '../models/load.ts';
import { Rng } from '../tensor/random.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { readTextFiles, TokenDataset } from '../train/data.ts';
import { evaluateLoss } from '../train/trainer.ts';
import { integerOption, numberOption } from './options.ts';
import { createProgress } from './progress.ts';

function oneOf<T extends string>(name: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}

function folderBytes(files: string[]): number {
  return files.reduce((sum, file) => sum + statSync(file).size, 0);
}

interface QuantizeFlags {
  model: string;
  bits: '8' | '4';
  format?: QuantFormat;
  out: string;
  json?: boolean;
}

function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('quantise a model folder\'s Linear/Conv1D weights to ggml blocks (Q8_0, Q4_0) or group-128 4-bit')
    .requiredOption('--model <dir>', 'model folder to read')
    .requiredOption('--out <dir>', 'quantised model folder to write (generates and evaluates like any other)')
    .option('--bits <n>', '8 → q8_0, 4 → q4_0', oneOf('--bits', ['8', '4'] as const), '8')
    .option('--format <name>', `block format, overriding --bits (${QUANT_FORMATS.join(', ')}; q4_g128: asymmetric, groups of 128)`, oneOf('--format', QUANT_FORMATS))
    .option('--json', 'print one JSON object: format, layers, sizes')
    .action((flags: QuantizeFlags) => {
      const { model, tokenizer, generationConfig } = loadCausalLM(flags.model);
      const format: QuantFormat = flags.format ?? (flags.bits === '8' ? 'q8_0' : 'q4_0');
      const report = quantizeModel(model, format);
      const files = saveQuantizedCausalLM(flags.out, model, tokenizer, generationConfig);
      const summary = {
        format,
        out: flags.out,
        layers: Object.keys(report.modules).length,
        skipped: report.skipped,
        size_bytes_before: report.sizeBytesBefore,
        size_bytes_after: report.sizeBytesAfter,
        folder_bytes: folderBytes(files),
      };
      if (flags.json) console.log(JSON.stringify(summary));
      else {
        console.log(`${format}: ${summary.layers} layers quantised${report.skipped.length ? `, ${report.skipped.length} left float32 (${report.skipped.join(', ')})` : ''}`);
        console.log(`weights ${(report.sizeBytesBefore / 1e6).toFixed(2)} MB → ${(report.sizeBytesAfter / 1e6).toFixed(2)} MB (${(report.sizeBytesAfter / report.sizeBytesBefore).toFixed(3)}×); wrote ${flags.out}`);
      }
    });
}

/** ONNX's --quant values: float32, or Transformers.js's q8 / q4 files (MatMulNBits on Q8_0 / Q4_0 blocks). */
const ONNX_QUANT_FLAGS = ['f32', 'q8', 'q4'] as const;
type OnnxQuantFlag = (typeof ONNX_QUANT_FLAGS)[number];
const EXPORT_QUANT_FLAGS = [...new Set([...GGUF_EXPORT_TYPES, ...ONNX_QUANT_FLAGS])];

interface ExportFlags {
  model: string;
  format: 'gguf' | 'onnx';
  quant: GgufExportType | OnnxQuantFlag;
  out: string;
  json?: boolean;
}

function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a model folder for another runtime: GGUF (llama.cpp) or ONNX (ONNX Runtime, Transformers.js)')
    .requiredOption('--model <dir>', 'model folder to read')
    .requiredOption('--format <name>', 'gguf or onnx', oneOf('--format', ['gguf', 'onnx'] as const))
    .requiredOption('--out <path>', 'gguf: the .gguf file; onnx: a folder (config.json, tokenizer.json, onnx/model.onnx)')
    .option('--quant <type>', `GGUF weight type (${GGUF_EXPORT_TYPES.join(', ')}); ONNX: f32, q8 (onnx/model_quantized.onnx) or q4 (onnx/model_q4.onnx)`, oneOf('--quant', EXPORT_QUANT_FLAGS), 'f32')
    .option('--json', 'print one JSON object: format, out, size_bytes')
    .action(async (flags: ExportFlags) => {
      let sizeBytes: number;
      if (flags.format === 'gguf') {
        const type = flags.quant;
        if (!(GGUF_EXPORT_TYPES as readonly string[]).includes(type)) throw new QkvValueError(`qkv export --format gguf: --quant must be one of ${GGUF_EXPORT_TYPES.join(', ')}, got "${type}"`);
        const { model, tokenizer } = loadCausalLM(flags.model);
        sizeBytes = exportGguf(flags.out, model, tokenizer, { type: type as GgufExportType });
      } else {
        const quant = flags.quant;
        if (!(ONNX_QUANT_FLAGS as readonly string[]).includes(quant)) throw new QkvValueError(`qkv export --format onnx: --quant must be one of ${ONNX_QUANT_FLAGS.join(', ')}, got "${quant}"`);
        // GPT and Llama (logits, KV cache) or BERT (hidden states)
        const { model, tokenizer } = loadModel(flags.model);
        const { exportOnnxFolder } = await import('../io/onnx-folder.ts');
        // exportOnnxFolder refuses (naming the class) what it has no graph for, e.g. a seq2seq model
        const options = quant === 'f32' ? {} : { quant: quant as 'q8' | 'q4' };
        sizeBytes = exportOnnxFolder(flags.out, model as Parameters<typeof exportOnnxFolder>[1], tokenizer, options).sizeBytes;
      }
      const summary = { format: flags.format, quant: flags.quant, out: flags.out, size_bytes: sizeBytes };
      if (flags.json) console.log(JSON.stringify(summary));
      else console.log(`wrote ${flags.out} (${flags.format} ${flags.quant}, ${(sizeBytes / 1e6).toFixed(2)} MB)`);
    });
}

interface PruneFlags {
  model: string;
  out: string;
  sparsity?: number;
  scope: PruneScope;
  heads?: number;
  data?: string[];
  finetuneSteps: number;
  learningRate: number;
  batchSize: number;
  blockSize?: number;
  json?: boolean;
}

function registerPrune(program: Command): void {
  program
    .command('prune')
    .description('prune a model folder: magnitude pruning to a sparsity, and/or remove the least important attention heads (GPT-2)')
    .requiredOption('--model <dir>', 'model folder to read')
    .requiredOption('--out <dir>', 'pruned model folder to write')
    .option('--sparsity <s>', 'zero this fraction of the Linear/Conv1D weights (smallest |w|)', numberOption('--sparsity', 0, 0.999))
    .option('--scope <scope>', 'one threshold for all matrices (global) or the same fraction in each (per-layer)', oneOf('--scope', ['global', 'per-layer'] as const), 'global')
    .option('--heads <n>', 'remove the n heads whose removal raises the held-out loss least (needs --data)', integerOption('--heads', 1))
    .option('--data <files...>', 'text for head importance, the fine-tune and the loss report (last 10% held out)')
    .option('--finetune-steps <n>', 'fine-tune this many steps after pruning, pruned weights kept at zero (needs --data)', integerOption('--finetune-steps', 0), 0)
    .option('--learning-rate <lr>', 'fine-tune learning rate', numberOption('--learning-rate', 0), 1e-3)
    .option('--batch-size <n>', 'fine-tune and evaluation batch size', integerOption('--batch-size', 1), 8)
    .option('--block-size <n>', 'fine-tune and evaluation sequence length (default: the model context)', integerOption('--block-size', 2))
    .option('--json', 'print one JSON object: sparsity, heads removed, losses')
    .action(async (flags: PruneFlags) => {
      if (flags.sparsity === undefined && flags.heads === undefined) throw new QkvValueError('qkv prune: give --sparsity and/or --heads');
      if ((flags.heads !== undefined || flags.finetuneSteps > 0) && flags.data === undefined) throw new QkvValueError('qkv prune: --heads and --finetune-steps need --data');
      const { model, tokenizer, generationConfig } = loadCausalLM(flags.model);
      const dataset = flags.data === undefined ? null : new TokenDataset(tokenizer.encodeIds(readTextFiles(flags.data)), 0.1);
      const blockSize = Math.min(flags.blockSize ?? model.contextLength, model.contextLength);
      const evalConfig = { batchSize: flags.batchSize, blockSize, seed: 1234 };
      const heldOutLoss = (): number | null => (dataset === null ? null : evaluateLoss(model, dataset, evalConfig, 4));
      const lossBefore = heldOutLoss();
      let removed = {};
      if (flags.heads !== undefined) {
        if (!(model instanceof GPT)) throw new QkvValueError('qkv prune --heads: head pruning is for GPT-2 models');
        const rng = new Rng(1234);
        const batches = Array.from({ length: 4 }, () => dataset!.sampleBatch('validation', flags.batchSize, blockSize, rng));
        removed = pruneHeads(model, leastImportantHeads(headImportance(model, batches), flags.heads));
      }
      let masks: Map<string, Uint8Array> | null = null;
      if (flags.sparsity !== undefined) masks = magnitudePrune(model, { sparsity: flags.sparsity, scope: flags.scope }).masks;
      const lossAfterPruning = heldOutLoss();
      if (flags.finetuneSteps > 0) {
        const progress = createProgress({ total: flags.finetuneSteps, fields: ['loss'], silent: Boolean(flags.json) });
        const { trainLanguageModel, TRAIN_DEFAULTS } = await import('../train/trainer.ts');
        const config = { ...TRAIN_DEFAULTS, steps: flags.finetuneSteps, batchSize: flags.batchSize, blockSize, learningRate: flags.learningRate, warmupSteps: 0, evalInterval: flags.finetuneSteps, evalBatches: 2 };
        const onStep = (record: { step: number; loss: number }): void => progress.update(record.step, { loss: record.loss.toFixed(3) });
        if (masks !== null) await fineTunePruned(model, masks, dataset!, config, onStep);
        else await trainLanguageModel({ model, dataset: dataset!, config, outDir: null, saveModel: () => {}, hooks: { onStep } });
        progress.stop();
      }
      model.eval();
      const lossAfter = heldOutLoss();
      if (model instanceof GPT && Object.keys(prunedHeadsOf(model)).length > 0) savePrunedGPT(flags.out, model, tokenizer, generationConfig);
      else saveCausalLM(flags.out, model, tokenizer, generationConfig);
      const summary = {
        out: flags.out,
        sparsity: measuredSparsity(model),
        pruned_heads: model instanceof GPT ? prunedHeadsOf(model) : {},
        heads_removed_now: Object.values(removed as Record<string, number[]>).flat().length,
        loss_before: lossBefore,
        loss_after_pruning: lossAfterPruning,
        loss_after: lossAfter,
        parameters: model.numParameters(),
      };
      if (flags.json) console.log(JSON.stringify(summary));
      else {
        console.log(`sparsity ${(summary.sparsity * 100).toFixed(1)}%, heads removed ${JSON.stringify(summary.pruned_heads)}, ${summary.parameters} parameters; wrote ${flags.out}`);
        if (lossBefore !== null) console.log(`held-out loss ${lossBefore.toFixed(4)} → ${lossAfterPruning!.toFixed(4)} after pruning${flags.finetuneSteps > 0 ? ` → ${lossAfter!.toFixed(4)} after ${flags.finetuneSteps} fine-tune steps` : ''}`);
      }
    });
}

export function registerInterchangeCommands(program: Command): void {
  registerExport(program);
  registerQuantize(program);
  registerPrune(program);
}
