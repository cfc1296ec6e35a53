/**
 * `qkv train`: train a GPT or a Llama (`--arch`) on text files, with a progress bar (step, loss, held-out loss, lr,
 * grad norm, tokens/s, ETA), a JSONL metrics log in the output folder, and a summary.
 */
import { trainConfigFromFlags } from './training-flags.ts';
import { InvalidArgumentError, type Command } from 'commander';
import { MODEL_ARCHS, MODEL_PRESETS, type ModelArch } from '../models/presets.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { defaultRunDir, trainOnText, type TokenizerKind, type TrainOnTextOptions, type TrainOnTextResult } from '../train/run.ts';
import type { TrainConfig } from '../train/trainer.ts';
import { POSITION_SCHEMES, type PositionScheme } from '../nn/positions.ts';
import { PARALLEL_STRATEGIES, type ParallelStrategy } from '../train/parallel/protocol.ts';
import type { ParallelTrainSummary } from '../train/parallel/launch.ts';
import { PRECISIONS, type Precision } from '../train/precision.ts';
import { integerOption, numberOption } from './options.ts';
import { GPT_OUTPUT_LAYERS, type GPTOutputLayer } from '../models/gpt-adaptive.ts';
import { createProgress } from './progress.ts';

/** Runs `trainOnText` with the progress bar; returns what the summary prints. */
export async function trainWithProgress(options: TrainOnTextOptions & { silent: boolean }): Promise<TrainOnTextResult> {
  const log = options.log ?? (() => {});
  let progress: ReturnType<typeof createProgress> | null = null;
  let lastVal = '-';
  const result = await trainOnText({
    ...options,
    hooks: {
      onStart: (config, startStep) => {
        progress = createProgress({ total: config.steps, start: startStep, fields: ['loss', 'val', 'lr', 'gnorm', 'tok_s'], silent: options.silent });
      },
      onStep: (record) => {
        if (record.val_loss !== undefined) lastVal = record.val_loss.toFixed(3);
        progress?.update(record.step, {
          loss: record.loss.toFixed(3),
          val: lastVal,
          lr: record.lr.toExponential(1),
          gnorm: record.grad_norm.toFixed(2),
          tok_s: Math.round(record.tokens_per_second),
        });
      },
    },
  });
  (progress as ReturnType<typeof createProgress> | null)?.stop();
  const { summary } = result;
  log(
    `trained ${summary.steps} steps in ${summary.wallTimeSeconds.toFixed(1)} s: ${Math.round(summary.tokensPerSecond)} tokens/s, ` +
      `peak memory ${(summary.peakRssBytes / 2 ** 20).toFixed(0)} MiB${summary.interrupted ? ' (interrupted: checkpoint saved)' : ''}`,
  );
  const perByte = (loss: number) => (loss / result.validationBytesPerToken).toFixed(3);
  log(
    `held-out loss ${summary.finalValLoss.toFixed(4)} nats/token (${perByte(summary.finalValLoss)} nats/byte) vs unigram baseline ` +
      `${result.unigramLoss.toFixed(4)} (${perByte(result.unigramLoss)} nats/byte); train loss ${summary.finalLoss.toFixed(4)}`,
  );
  if (summary.precision !== undefined && summary.precision !== 'fp32') {
    log(`precision ${summary.precision}: ${summary.skippedSteps ?? 0} steps skipped for non-finite gradients` +
      (summary.lossScale === undefined ? '' : `, loss scale ${summary.lossScale}`));
  }
  if (options.outDir !== null) log(`model folder: ${options.outDir}`);
  return result;
}

interface TrainFlags {
  data: string[];
  config: string;
  arch?: ModelArch;
  kvHeads?: number;
  position?: PositionScheme;
  output?: GPTOutputLayer;
  cutoffs?: number[];
  divValue?: number;
  out?: string;
  resume?: boolean;
  tokenizer: TokenizerKind;
  vocabSize: number;
  steps?: number;
  batchSize?: number;
  blockSize?: number;
  gradAccum?: number;
  lr?: number;
  warmup?: number;
  evalInterval?: number;
  checkpointInterval?: number;
  dropout?: number;
  seed?: number;
  workers: number;
  strategy?: ParallelStrategy;
  overlap?: boolean;
  prefetch?: boolean;
  precision: Precision;
  lossScale?: number;
  json?: boolean;
}

function precisionOption(value: string): Precision {
  if (!(PRECISIONS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--precision must be one of ${PRECISIONS.join(', ')}, got "${value}"`);
  return value as Precision;
}

function strategyOption(value: string): ParallelStrategy {
  if (!(PARALLEL_STRATEGIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--strategy must be one of ${PARALLEL_STRATEGIES.join(', ')}, got "${value}"`);
  return value as ParallelStrategy;
}

function archOption(value: string): ModelArch {
  if (!(MODEL_ARCHS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--arch must be one of ${MODEL_ARCHS.join(', ')}, got "${value}"`);
  return value as ModelArch;
}

function positionOption(value: string): PositionScheme {
  if (!(POSITION_SCHEMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--position must be one of ${POSITION_SCHEMES.join(', ')}, got "${value}"`);
  }
  return value as PositionScheme;
}

function outputOption(value: string): GPTOutputLayer {
  if (!(GPT_OUTPUT_LAYERS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--output must be one of ${GPT_OUTPUT_LAYERS.join(', ')}, got "${value}"`);
  return value as GPTOutputLayer;
}

/** `2000,10000` → [2000, 10000]: positive integers, strictly increasing (that they are below the vocabulary is checked once it is known). */
export function cutoffsOption(value: string): number[] {
  const cutoffs = value.split(',').map((part) => Number(part.trim()));
  cutoffs.forEach((cutoff, i) => {
    if (!Number.isInteger(cutoff) || cutoff <= 0) throw new InvalidArgumentError(`--cutoffs must be positive integers separated by commas (e.g. 2000,10000), got "${value}"`);
    if (i > 0 && cutoff <= cutoffs[i - 1]) throw new InvalidArgumentError(`--cutoffs must be strictly increasing, got "${value}" (${cutoff} after ${cutoffs[i - 1]})`);
  });
  return cutoffs;
}

/** GPT config fields of --output / --cutoffs / --div-value, or a typed error for a combination that cannot work. */
export function outputLayerOverrides(flags: Pick<TrainFlags, 'arch' | 'output' | 'cutoffs' | 'divValue'>): { output?: 'adaptive'; adaptive_cutoffs?: number[]; adaptive_div_value?: number } {
  const adaptive = flags.output === 'adaptive';
  if (!adaptive && (flags.cutoffs !== undefined || flags.divValue !== undefined)) throw new QkvValueError('--cutoffs and --div-value need --output adaptive');
  if (!adaptive) return {};
  if (flags.arch === 'llama') throw new QkvValueError('--output adaptive is for --arch gpt');
  if (flags.cutoffs === undefined) throw new QkvValueError('--output adaptive needs --cutoffs, e.g. --cutoffs 2000,10000 (token ids are sorted by frequency first)');
  return { output: 'adaptive', adaptive_cutoffs: flags.cutoffs, ...(flags.divValue === undefined ? {} : { adaptive_div_value: flags.divValue }) };
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a GPT or a Llama on text files and save a Hugging Face-style model folder')
    .requiredOption('--data <files...>', 'text files to train on (the last 10% of tokens are held out)')
    .option('--config <name>', `model size: ${Object.keys(MODEL_PRESETS).join(', ')}`, 'small')
    .option('--arch <name>', "gpt (GPT-2 layout) or llama (RMSNorm, RoPE, SwiGLU, untied head); default gpt, or the folder's with --resume", archOption)
    .option('--position <scheme>', `gpt: position scheme, one of ${POSITION_SCHEMES.join(', ')} (default learned, as GPT-2)`, positionOption)
    .option('--output <layer>', 'gpt: output layer, full (tied softmax over the vocabulary, as GPT-2) or adaptive (adaptive softmax; the vocabulary is renumbered by frequency)', outputOption)
    .option('--cutoffs <list>', 'with --output adaptive: tail cluster boundaries, e.g. 2000,10000 (ids below the first are the head\'s frequent tokens)', cutoffsOption)
    .option('--div-value <d>', 'with --output adaptive: tail cluster i projects to n_embd / d^(i+1) (default 4)', numberOption('--div-value', 1))
    .option('--kv-heads <n>', 'llama: key/value heads for grouped-query attention (default: as many as query heads)', integerOption('--kv-heads', 1))
    .option('--out <dir>', 'model folder to write (default runs/<config>)')
    .option('--resume', 'continue the run saved in --out (same settings, bit for bit)')
    .option('--tokenizer <kind>', "char, bpe (trained on --data), or gpt2 (GPT-2's 50,257-token BPE)", 'char')
    .option('--vocab-size <n>', 'BPE vocabulary size', integerOption('--vocab-size', 260), 1024)
    .option('--steps <n>', 'optimiser steps', integerOption('--steps', 1))
    .option('--batch-size <n>', 'sequences per micro-batch', integerOption('--batch-size', 1))
    .option('--block-size <n>', 'tokens per sequence', integerOption('--block-size', 1))
    .option('--grad-accum <n>', 'micro-batches per optimiser step', integerOption('--grad-accum', 1))
    .option('--lr <rate>', 'peak learning rate', numberOption('--lr', 0))
    .option('--warmup <n>', 'warm-up steps', integerOption('--warmup', 0))
    .option('--eval-interval <n>', 'evaluate every N steps', integerOption('--eval-interval', 1))
    .option('--checkpoint-interval <n>', 'checkpoint every N steps (0: at the end)', integerOption('--checkpoint-interval', 0))
    .option('--dropout <p>', 'dropout for embeddings, attention and residuals (llama: attention only, as HF Llama)', numberOption('--dropout', 0, 0.99))
    .option('--seed <n>', 'random seed', integerOption('--seed', 0))
    .option('--workers <n>', 'data-parallel workers (worker_threads); --batch-size is then per worker', integerOption('--workers', 1), 1)
    .option('--strategy <name>', `with --workers: ${PARALLEL_STRATEGIES.join(' (full replicas, gradients all-reduced) or ')} (parameters, gradients, AdamW state sharded); default ddp`, strategyOption)
    .option('--overlap', 'with --workers and ddp: all-reduce each gradient bucket as soon as backward has finished it, by whichever worker is free (same weights; off by default: it did not pay on 2 cores)')
    .option('--prefetch', "with --workers and fsdp: publish the next block's shard while the current block computes (same weights; off by default)")
    .option('--precision <p>', 'fp32, bf16, or fp16: one process runs the Linear products on 16-bit operands (16-bit GEMM, fp32 accumulate), --workers stores weights/gradients in 16 bits; fp16 uses dynamic loss scaling (overflow steps skipped, counted); master weights and AdamW state stay fp32', precisionOption, 'fp32')
    .option('--loss-scale <S>', 'with --precision fp16: the initial loss scale (default 65536, as torch GradScaler); halved on each overflow, doubled after 2000 good steps', numberOption('--loss-scale', 1))
    .option('--json', 'print one JSON summary instead of text')
    .action(async (flags: TrainFlags) => {
      if (flags.lossScale !== undefined && flags.precision !== 'fp16') throw new QkvValueError('--loss-scale needs --precision fp16 (fp32 and bf16 run unscaled)');
      if (flags.overlap && flags.strategy === 'fsdp') throw new QkvValueError('--overlap is for --strategy ddp (fsdp: --prefetch)');
      if (flags.prefetch && flags.strategy !== 'fsdp') throw new QkvValueError('--prefetch needs --strategy fsdp (ddp: --overlap)');
      const train = trainConfigFromFlags(flags);
      const blockFromPreset = MODEL_PRESETS[flags.config]?.n_positions;
      if (train.blockSize === undefined && blockFromPreset !== undefined) train.blockSize = blockFromPreset;
      const dropout = flags.dropout === undefined ? {} : { embd_pdrop: flags.dropout, attn_pdrop: flags.dropout, resid_pdrop: flags.dropout };
      if (flags.position !== undefined && flags.arch === 'llama') throw new QkvValueError('--position is for --arch gpt (Llama always uses RoPE)');
      const position = flags.position === undefined ? {} : { position: flags.position };
      const outputLayer = outputLayerOverrides(flags);
      if (flags.kvHeads !== undefined && flags.arch !== 'llama') throw new QkvValueError('--kv-heads needs --arch llama');
      const llamaOverrides = {
        ...(flags.dropout === undefined ? {} : { attention_dropout: flags.dropout }),
        ...(flags.kvHeads === undefined ? {} : { num_key_value_heads: flags.kvHeads }),
      };
      const outDir = flags.out ?? defaultRunDir(flags.config);
      const log = flags.json ? () => {} : (line: string) => console.log(line);
      const result = await trainWithProgress({
        dataFiles: flags.data,
        preset: flags.config,
        arch: flags.arch,
        modelOverrides: { ...dropout, ...position, ...outputLayer },
        llamaOverrides,
        train,
        tokenizer: flags.tokenizer,
        vocabSize: flags.vocabSize,
        outDir,
        resume: flags.resume,
        workers: flags.workers,
        strategy: flags.strategy,
        overlap: flags.overlap,
        prefetch: flags.prefetch,
        precision: flags.precision,
        ...(flags.lossScale === undefined ? {} : { lossScaler: { initScale: flags.lossScale } }),
        silent: Boolean(flags.json),
        log,
      });
      if (flags.json) {
        const { summary } = result;
        console.log(JSON.stringify({
          out: outDir,
          arch: result.arch,
          steps: summary.steps,
          loss: summary.finalLoss,
          val_loss: summary.finalValLoss,
          unigram_loss: result.unigramLoss,
          validation_bytes_per_token: result.validationBytesPerToken,
          tokens_per_second: summary.tokensPerSecond,
          wall_time_s: summary.wallTimeSeconds,
          peak_rss_bytes: summary.peakRssBytes,
          interrupted: summary.interrupted,
          precision: summary.precision ?? flags.precision,
          // fp16: steps whose gradient overflowed (skipped, loss scale halved); 0 for fp32/bf16.
          skipped_steps: summary.skippedSteps ?? 0,
          ...(summary.lossScale === undefined ? {} : { loss_scale: summary.lossScale }),
          ...('workerMemory' in summary
            ? {
                workers: flags.workers,
                strategy: (summary as ParallelTrainSummary).strategy,
                worker_memory: (summary as ParallelTrainSummary).workerMemory,
                overlap: (summary as ParallelTrainSummary).overlap,
                prefetch: (summary as ParallelTrainSummary).prefetch,
                // Per worker, median ms per step of forward, backward, gradient communication, gathers, optimiser, waiting.
                timing: (summary as ParallelTrainSummary).timing,
              }
            : {}),
        }));
      }
      if (result.summary.interrupted) process.exitCode = 130;
    });
}
