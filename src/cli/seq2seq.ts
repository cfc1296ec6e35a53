/**
 * `qkv seq2seq train|translate|eval` (encoder–decoder models on seeded tasks or TSV pairs) and
 * `qkv metrics bleu|rouge` (sacreBLEU's BLEU and rouge-score's ROUGE on text files, one segment
 * per line). A thin layer over src/train/seq2seq-*.ts, src/generate/beam.ts and src/eval.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { formatBleu, sacreBleuCorpus, type BleuSmoothing, type BleuTokenizer } from '../eval/bleu.ts';
import { rougeCorpus } from '../eval/rouge.ts';
import { writeJsonAtomic } from '../io/atomic.ts';
import { readJsonObject } from '../io/config.ts';
import { loadSeq2SeqModel } from '../models/load.ts';
import { TRANSFORMER_PRESETS } from '../models/transformer-config.ts';
import { POSITION_SCHEMES, type PositionScheme } from '../nn/positions.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { evaluateSeq2Seq, translateNBest } from '../train/seq2seq-eval.ts';
import { generatePairs, getSeq2SeqTask, heldOutPairs, readPairsTsv, SEQ2SEQ_TASKS, type Seq2SeqPair, type TaskOptions } from '../train/seq2seq-tasks.ts';
import { SEQ2SEQ_ARCHITECTURES, trainSeq2Seq, type Seq2SeqArchitecture } from '../train/seq2seq-train.ts';
import { integerOption, numberOption } from './options.ts';
import { createProgress } from './progress.ts';

/** Beside the model folder: which task and seed the model was trained on, so `eval --task` can hold those pairs out. */
const TASK_FILE = 'seq2seq_task.json';

interface TaskRecord extends TaskOptions {
  task: string;
  train_size: number;
  seed: number;
}

function choice<T extends string>(name: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!choices.includes(value as T)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}

function readLines(path: string): string[] {
  if (!existsSync(path)) throw new QkvValueError(`${path}: file not found`);
  const lines = readFileSync(path, 'utf8').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // the final newline ends the last segment
  return lines;
}

/** Hypothesis and reference files with one segment per line; the counts must agree. */
function readSegments(hypothesesPath: string, referencePaths: readonly string[]): { hypotheses: string[]; references: string[][] } {
  const hypotheses = readLines(hypothesesPath);
  const references = referencePaths.map((path) => {
    const lines = readLines(path);
    if (lines.length !== hypotheses.length) {
      throw new QkvValueError(`${path} has ${lines.length} lines but ${hypothesesPath} has ${hypotheses.length}: one segment per line, the counts must agree`);
    }
    return lines;
  });
  return { hypotheses, references };
}

const taskOptions = (flags: { minLength?: number; maxLength?: number }): TaskOptions => ({ minLength: flags.minLength, maxLength: flags.maxLength });

interface TrainFlags {
  task?: string;
  pairs?: string;
  arch: Seq2SeqArchitecture;
  out: string;
  preset: keyof typeof TRANSFORMER_PRESETS;
  position?: PositionScheme;
  preLn?: boolean;
  hiddenSize: number;
  steps: number;
  batchSize: number;
  lr: number;
  trainSize: number;
  valSize: number;
  minLength?: number;
  maxLength?: number;
  seed: number;
  resume?: boolean;
  json?: boolean;
}

async function trainCommand(flags: TrainFlags): Promise<void> {
  if ((flags.task === undefined) === (flags.pairs === undefined)) throw new QkvValueError('seq2seq train: give exactly one of --task NAME or --pairs FILE.tsv');
  let trainPairs: Seq2SeqPair[];
  let validationPairs: Seq2SeqPair[];
  if (flags.task !== undefined) {
    const task = getSeq2SeqTask(flags.task);
    trainPairs = generatePairs(task, flags.trainSize, flags.seed, taskOptions(flags));
    validationPairs = heldOutPairs(task, flags.valSize, flags.seed + 1, trainPairs, taskOptions(flags));
  } else {
    const all = readPairsTsv(flags.pairs!);
    const held = Math.max(1, Math.floor(all.length * 0.1));
    if (all.length < 2) throw new QkvValueError(`${flags.pairs}: need at least 2 pairs (the last 10% are held out)`);
    trainPairs = all.slice(0, all.length - held);
    validationPairs = all.slice(all.length - held);
  }
  let progress: ReturnType<typeof createProgress> | null = null;
  let lastVal = '-';
  const config = flags.arch === 'transformer'
    ? { ...(flags.position ? { position: flags.position } : {}), ...(flags.preLn ? { normalize_before: true } : {}) }
    : { hidden_size: flags.hiddenSize, embedding_size: Math.min(64, flags.hiddenSize) };
  const { model, tokenizer, summary } = await trainSeq2Seq({
    arch: flags.arch,
    preset: flags.preset,
    config,
    seed: flags.seed,
    trainPairs,
    validationPairs,
    outDir: flags.out,
    resume: flags.resume,
    train: { steps: flags.steps, batchSize: flags.batchSize, learningRate: flags.lr, minLearningRate: flags.lr / 10, warmupSteps: Math.min(100, Math.floor(flags.steps / 10)), seed: flags.seed },
    hooks: {
      onStart: (trainConfig, start) => {
        progress = createProgress({ total: trainConfig.steps, start, fields: ['loss', 'val', 'lr'], silent: Boolean(flags.json) });
      },
      onStep: (record) => {
        if (record.val_loss !== undefined) lastVal = record.val_loss.toFixed(3);
        progress?.update(record.step, { loss: record.loss.toFixed(3), val: lastVal, lr: record.lr.toExponential(1) });
      },
    },
  });
  (progress as ReturnType<typeof createProgress> | null)?.stop();
  if (flags.task !== undefined) {
    const record: TaskRecord = { task: flags.task, train_size: flags.trainSize, seed: flags.seed, ...taskOptions(flags) };
    writeJsonAtomic(join(flags.out, TASK_FILE), record);
  }
  const scores = evaluateSeq2Seq(model, tokenizer, validationPairs);
  const result = {
    arch: flags.arch,
    parameters: model.numParameters(),
    steps: summary.steps,
    train_seconds: summary.wallTimeSeconds,
    train_loss: summary.finalLoss,
    val_loss: summary.finalValLoss,
    exact_match: scores.exactMatch,
    bleu: scores.bleu,
    rouge_l: scores.rougeL,
    validation_pairs: validationPairs.length,
    out: flags.out,
  };
  if (flags.json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`trained ${flags.arch} (${result.parameters} parameters) for ${summary.steps} steps in ${summary.wallTimeSeconds.toFixed(1)} s; held-out loss ${summary.finalValLoss.toFixed(4)}`);
  console.log(`held-out (${validationPairs.length} pairs, greedy): exact match ${(100 * scores.exactMatch).toFixed(1)}%, BLEU ${scores.bleu.toFixed(2)}, ROUGE-L ${scores.rougeL.toFixed(4)}`);
  console.log(`model folder: ${flags.out}`);
}

interface DecodeFlags {
  beam: number;
  lengthPenalty: number;
  maxNewTokens: number;
  nBest: number;
}

function decodeOptions(flags: DecodeFlags) {
  return { numBeams: flags.beam, lengthPenalty: flags.lengthPenalty, maxNewTokens: flags.maxNewTokens, numReturnSequences: flags.nBest };
}

function translateCommand(texts: string[], flags: DecodeFlags & { model: string; json?: boolean }): void {
  const sources = texts.length > 0 ? texts : readFileSync(0, 'utf8').split(/\r?\n/).filter((line) => line !== '');
  if (flags.nBest > flags.beam) throw new QkvValueError(`seq2seq translate: --n-best ${flags.nBest} exceeds --beam ${flags.beam}`);
  const { model, tokenizer } = loadSeq2SeqModel(flags.model);
  const results = translateNBest(model, tokenizer, sources, decodeOptions(flags));
  sources.forEach((source, i) => {
    const hypotheses = results[i];
    if (flags.json) console.log(JSON.stringify({ source, translations: hypotheses.map((h) => ({ text: h.text, score: Number.isNaN(h.score) ? null : h.score })) }));
    else if (flags.nBest === 1) console.log(hypotheses[0]?.text ?? '');
    else hypotheses.forEach((h, rank) => console.log(`${i}\t${rank}\t${h.score.toFixed(4)}\t${h.text}`));
  });
}

function evalCommand(flags: DecodeFlags & { model: string; task?: string; pairs?: string; count: number; seed: number; minLength?: number; maxLength?: number; json?: boolean }): void {
  if ((flags.task === undefined) === (flags.pairs === undefined)) throw new QkvValueError('seq2seq eval: give exactly one of --task NAME or --pairs FILE.tsv');
  const { model, tokenizer } = loadSeq2SeqModel(flags.model);
  let pairs: Seq2SeqPair[];
  if (flags.task !== undefined) {
    const task = getSeq2SeqTask(flags.task);
    // Hold out what the model was trained on, when the folder says (qkv seq2seq train --task writes it).
    const recordPath = join(flags.model, TASK_FILE);
    const record = existsSync(recordPath) ? (readJsonObject(recordPath) as unknown as TaskRecord) : null;
    const seen = record !== null && record.task === flags.task ? generatePairs(task, record.train_size, record.seed, record) : [];
    pairs = heldOutPairs(task, flags.count, flags.seed, seen, taskOptions(flags));
  } else {
    pairs = readPairsTsv(flags.pairs!);
  }
  const progress = createProgress({ total: pairs.length, silent: Boolean(flags.json) });
  const scores = evaluateSeq2Seq(model, tokenizer, pairs, { ...decodeOptions(flags), numReturnSequences: 1, onProgress: (done) => progress.update(done) });
  progress.stop();
  const result = { bleu: scores.bleu, rouge_l: scores.rougeL, exact_match: scores.exactMatch, token_accuracy: scores.tokenAccuracy, segments: scores.segments, beam: flags.beam };
  if (flags.json) console.log(JSON.stringify(result));
  else console.log(`${scores.segments} pairs, beam ${flags.beam}: exact match ${(100 * scores.exactMatch).toFixed(1)}%, BLEU ${scores.bleu.toFixed(2)}, ROUGE-L ${scores.rougeL.toFixed(4)}, token accuracy ${(100 * scores.tokenAccuracy).toFixed(1)}%`);
}

function addDecodeOptions(command: Command): Command {
  return command
    .option('--beam <n>', 'beam size (1: greedy)', integerOption('--beam', 1), 1)
    .option('--length-penalty <alpha>', "HF length_penalty: score = log P / length^alpha (> 0 favours longer outputs)", numberOption('--length-penalty'), 1)
    .option('--max-new-tokens <n>', 'longest output, EOS included', integerOption('--max-new-tokens', 1), 64);
}

export function registerSeq2SeqCommands(program: Command): void {
  const seq2seq = program.command('seq2seq').description('encoder–decoder models: train on a task or TSV pairs, translate, evaluate');
  const tasks = Object.keys(SEQ2SEQ_TASKS);
  seq2seq
    .command('train')
    .description(`train a Transformer or GRU seq2seq with teacher forcing (tasks: ${tasks.join(', ')})`)
    .option('--task <name>', `seeded task: ${Object.values(SEQ2SEQ_TASKS).map((t) => `${t.name} (${t.description})`).join('; ')}`)
    .option('--pairs <file>', 'TSV of source<TAB>target pairs (the last 10% held out)')
    .option('--arch <arch>', `architecture: ${SEQ2SEQ_ARCHITECTURES.join(', ')}`, choice('--arch', SEQ2SEQ_ARCHITECTURES), 'transformer')
    .requiredOption('--out <dir>', 'model folder to write')
    .option('--preset <name>', `Transformer size: ${Object.keys(TRANSFORMER_PRESETS).join(', ')}`, choice('--preset', Object.keys(TRANSFORMER_PRESETS) as (keyof typeof TRANSFORMER_PRESETS)[]), 'small')
    .option('--position <scheme>', `Transformer positions: ${POSITION_SCHEMES.join(', ')} (default sinusoidal)`, choice('--position', POSITION_SCHEMES))
    .option('--pre-ln', 'pre-LN Transformer (default: post-LN, as the paper)')
    .option('--hidden-size <n>', 'GRU hidden size', integerOption('--hidden-size', 1), 128)
    .option('--steps <n>', 'optimiser steps', integerOption('--steps', 1), 1500)
    .option('--batch-size <n>', 'pairs per step', integerOption('--batch-size', 1), 32)
    .option('--lr <rate>', 'peak learning rate', numberOption('--lr', 0), 3e-3)
    .option('--train-size <n>', 'training pairs generated for --task', integerOption('--train-size', 1), 20000)
    .option('--val-size <n>', 'held-out pairs for --task', integerOption('--val-size', 1), 500)
    .option('--min-length <n>', 'shortest sequence for reverse/sort/number-words', integerOption('--min-length', 1))
    .option('--max-length <n>', 'longest sequence for reverse/sort/number-words', integerOption('--max-length', 1))
    .option('--seed <n>', 'seed of the data and the weights', integerOption('--seed', 0), 1)
    .option('--resume', 'continue from the checkpoint in --out')
    .option('--json', 'print one JSON object: parameters, losses, exact_match, bleu, rouge_l, train_seconds')
    .action(trainCommand);
  addDecodeOptions(seq2seq.command('translate').description('translate texts (arguments, or stdin lines) with a seq2seq model folder'))
    .requiredOption('--model <dir>', 'model folder from `qkv seq2seq train`')
    .option('--n-best <n>', 'hypotheses per source (at most --beam)', integerOption('--n-best', 1), 1)
    .option('--json', 'one JSON object per source: {source, translations: [{text, score}]}')
    .argument('[texts...]', 'source texts')
    .action((texts: string[], flags) => translateCommand(texts, { ...flags, nBest: flags.nBest }));
  addDecodeOptions(seq2seq.command('eval').description('BLEU (sacreBLEU), ROUGE-L (rouge-score), exact match and token accuracy on held-out pairs'))
    .requiredOption('--model <dir>', 'model folder')
    .option('--task <name>', `seeded task (${tasks.join(', ')}); pairs the model was trained on are held out`)
    .option('--pairs <file>', 'TSV of source<TAB>target pairs')
    .option('--count <n>', 'pairs drawn for --task', integerOption('--count', 1), 500)
    .option('--seed <n>', 'seed of the --task pairs', integerOption('--seed', 0), 1000)
    .option('--min-length <n>', 'shortest sequence for --task', integerOption('--min-length', 1))
    .option('--max-length <n>', 'longest sequence for --task', integerOption('--max-length', 1))
    .option('--json', 'print one JSON object: bleu, rouge_l, exact_match, token_accuracy, segments')
    .action((flags) => evalCommand({ ...flags, nBest: 1 }));

  const metrics = program.command('metrics').description('text metrics on files, one segment per line: BLEU as sacreBLEU, ROUGE as rouge-score');
  metrics
    .command('bleu')
    .description('corpus BLEU exactly as sacreBLEU (13a, n = 4, closest reference length, exp smoothing by default)')
    .requiredOption('--hypotheses <file>', 'system output, one segment per line')
    .requiredOption('--references <files...>', 'one or more reference files, each one segment per line')
    .option('--tokenize <name>', 'tokenisation: 13a or none', choice<BleuTokenizer>('--tokenize', ['13a', 'none']), '13a')
    .option('--smooth-method <name>', 'exp, floor, add-k or none', choice<BleuSmoothing>('--smooth-method', ['exp', 'floor', 'add-k', 'none']), 'exp')
    .option('--smooth-value <x>', 'floor ε (0.1) or add-k k (1)', numberOption('--smooth-value', 0))
    .option('--lowercase', 'case-insensitive BLEU')
    .option('--json', 'print {"score", "precisions", "bp", "sys_len", "ref_len"}')
    .action((flags: { hypotheses: string; references: string[]; tokenize: BleuTokenizer; smoothMethod: BleuSmoothing; smoothValue?: number; lowercase?: boolean; json?: boolean }) => {
      const { hypotheses, references } = readSegments(flags.hypotheses, flags.references);
      const score = sacreBleuCorpus(hypotheses, references, { tokenize: flags.tokenize, smoothMethod: flags.smoothMethod, smoothValue: flags.smoothValue, lowercase: flags.lowercase });
      if (flags.json) console.log(JSON.stringify({ score: score.score, precisions: score.precisions, bp: score.bp, sys_len: score.sys_len, ref_len: score.ref_len }));
      else console.log(formatBleu(score));
    });
  metrics
    .command('rouge')
    .description("ROUGE-1/2/L F-measure as Google's rouge-score without stemming, averaged over segments")
    .requiredOption('--hypotheses <file>', 'system output, one segment per line')
    .requiredOption('--references <file>', 'references, one segment per line')
    .option('--json', 'print {"rouge1", "rouge2", "rougeL"} with precision, recall, fmeasure each')
    .action((flags: { hypotheses: string; references: string; json?: boolean }) => {
      const { hypotheses, references } = readSegments(flags.hypotheses, [flags.references]);
      const scores = rougeCorpus(hypotheses, references[0]);
      if (flags.json) console.log(JSON.stringify(scores));
      else for (const type of ['rouge1', 'rouge2', 'rougeL'] as const) console.log(`${type}: P ${scores[type].precision.toFixed(4)} R ${scores[type].recall.toFixed(4)} F ${scores[type].fmeasure.toFixed(4)}`);
    });
}
