/**
 * `qkv bert pretrain`, `qkv classify train|predict|eval`, `qkv embed`, `qkv calibrate` (issue 11).
 * The work is in the library (src/train/mlm-pretrain.ts, classify*.ts, src/models/bert-embed.ts,
 * src/eval/*); these commands read files, show progress and print a table or `--json`.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { classificationReport, type ClassificationReport } from '../eval/classification-metrics.ts';
import { groupReport, type GroupReport } from '../eval/fairness.ts';
import { runCalibrationExperiment, DEFAULT_TEMPLATE } from '../eval/few-shot.ts';
import { BertForSequenceClassification } from '../models/bert-heads.ts';
import { loadBert, saveBert } from '../models/bert-folder.ts';
import { embedTexts } from '../models/bert-embed.ts';
import { loadCausalLM, loadModel } from '../models/load.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import { trainWordPiece } from '../tokenizers/wordpiece-trainer.ts';
import { CLASSIFY_TRAIN_DEFAULTS, fineTuneClassifier } from '../train/classify.ts';
import { saveBagOfWords, trainBagOfWords } from '../train/classify-bow.ts';
import { evenlySpaced, holdOut, labelSet, readLabelledFile, type LabelledExample } from '../train/classify-data.ts';
import { loadClassifier } from '../train/classify-load.ts';
import { splitDocuments } from '../train/mlm.ts';
import { PRETRAIN_DEFAULTS, pretrainBert } from '../train/mlm-pretrain.ts';
import { readTextFiles } from '../train/data.ts';
import type { TrainConfig, TrainHooks } from '../train/trainer.ts';
import { collect, integerOption, numberOption } from './options.ts';
import { createProgress } from './progress.ts';

/** Progress-bar hooks for the trainer (step, loss, held-out loss, tokens/s). */
function trainerProgress(silent: boolean): TrainHooks & { stop(): void } {
  let bar: ReturnType<typeof createProgress> | null = null;
  let lastVal = '-';
  return {
    onStart: (config, startStep) => {
      bar = createProgress({ total: config.steps, start: startStep, fields: ['loss', 'val', 'tok_s'], silent });
    },
    onStep: (record) => {
      if (record.val_loss !== undefined) lastVal = record.val_loss.toFixed(3);
      bar?.update(record.step, { loss: record.loss.toFixed(3), val: lastVal, tok_s: Math.round(record.tokens_per_second) });
    },
    stop: () => (bar as ReturnType<typeof createProgress> | null)?.stop(),
  };
}

interface TrainingFlags { steps?: number; batchSize?: number; blockSize?: number; lr?: number; seed: number }

function trainConfig(defaults: TrainConfig, flags: TrainingFlags): TrainConfig {
  const steps = flags.steps ?? defaults.steps;
  const learningRate = flags.lr ?? defaults.learningRate;
  return {
    ...defaults,
    steps,
    batchSize: flags.batchSize ?? defaults.batchSize,
    blockSize: flags.blockSize ?? defaults.blockSize,
    learningRate,
    minLearningRate: Math.min(defaults.minLearningRate, learningRate / 10),
    warmupSteps: Math.min(defaults.warmupSteps, Math.floor(steps / 10)),
    evalInterval: Math.min(defaults.evalInterval, steps),
    seed: flags.seed,
  };
}

const trainingOptions = (command: Command, defaults: TrainConfig): Command =>
  command
    .option('--steps <n>', `optimiser steps (default ${defaults.steps})`, integerOption('--steps', 1))
    .option('--batch-size <n>', `examples per step (default ${defaults.batchSize})`, integerOption('--batch-size', 1))
    .option('--block-size <n>', `tokens per example (default ${defaults.blockSize})`, integerOption('--block-size', 5))
    .option('--lr <x>', `peak learning rate (default ${defaults.learningRate})`, numberOption('--lr', 0))
    .option('--seed <n>', 'seed for weights, data order, masking', integerOption('--seed', 0), defaults.seed)
    .option('--json', 'print one JSON object instead of text');

const modelSizeOptions = (command: Command): Command =>
  command
    .option('--vocab-size <n>', 'WordPiece vocabulary to train', integerOption('--vocab-size', 16), 4000)
    .option('--hidden-size <n>', 'width C', integerOption('--hidden-size', 1), 128)
    .option('--layers <n>', 'encoder layers', integerOption('--layers', 1), 2)
    .option('--heads <n>', 'attention heads', integerOption('--heads', 1), 4);

const modelSize = (flags: { hiddenSize: number; layers: number; heads: number }, blockSize: number) => ({
  hidden_size: flags.hiddenSize,
  num_hidden_layers: flags.layers,
  num_attention_heads: flags.heads,
  intermediate_size: 4 * flags.hiddenSize,
  max_position_embeddings: blockSize,
});

const columnOptions = (command: Command, withLabel = true): Command => {
  command.option('--text-column <name>', 'column holding the text', 'text');
  if (withLabel) command.option('--label-column <name>', 'column holding the label', 'label');
  return command;
};

/** Documents for pre-training: a text file splits at blank lines; each JSONL/CSV record is one document. */
function readDocuments(paths: readonly string[], textColumn: string): string[][] {
  const documents: string[][] = [];
  for (const path of paths) {
    const extension = extname(path).toLowerCase();
    if (extension === '.jsonl' || extension === '.csv') {
      for (const example of readLabelledFile(path, { textColumn, labelColumn: null })) documents.push(...splitDocuments(example.text));
    } else documents.push(...splitDocuments(readTextFiles([path])));
  }
  return documents;
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

function formatReport(report: ClassificationReport): string {
  const width = Math.max(8, ...report.labels.map((label) => label.length));
  const lines = [`${'label'.padEnd(width)}  precision  recall     f1  support`];
  for (const m of report.perClass) lines.push(`${m.label.padEnd(width)}  ${m.precision.toFixed(3).padStart(9)}  ${m.recall.toFixed(3).padStart(6)}  ${m.f1.toFixed(3).padStart(5)}  ${String(m.support).padStart(7)}`);
  for (const [name, m] of [['macro', report.macro], ['micro', report.micro], ['weighted', report.weighted]] as const) {
    lines.push(`${name.padEnd(width)}  ${m.precision.toFixed(3).padStart(9)}  ${m.recall.toFixed(3).padStart(6)}  ${m.f1.toFixed(3).padStart(5)}  ${String(report.count).padStart(7)}`);
  }
  lines.push(`accuracy ${percent(report.accuracy)} over ${report.count} examples`);
  lines.push(`confusion (rows true, columns predicted, order as above):`);
  for (const [i, row] of report.confusion.entries()) lines.push(`  ${report.labels[i].padEnd(width)} ${row.map((n) => String(n).padStart(4)).join('')}`);
  return lines.join('\n');
}

function formatGroups(report: GroupReport): string {
  const lines = report.groups.map(({ group, report: r }) => `  ${group}: accuracy ${percent(r.accuracy)}, macro-F1 ${r.macro.f1.toFixed(3)} (${r.count} examples)`);
  for (const gap of report.gaps) lines.push(`  gap ${gap.metric}: ${gap.gap.toFixed(3)} (best ${gap.best.group} ${gap.best.value.toFixed(3)}, worst ${gap.worst.group} ${gap.worst.value.toFixed(3)})`);
  return `by group:\n${lines.join('\n')}`;
}

/** Metrics (and per-group metrics) of a classifier on labelled examples. */
function evaluateExamples(classifier: ReturnType<typeof loadClassifier>, examples: readonly LabelledExample[], source: string) {
  const unknown = examples.find((example) => !classifier.labels.includes(example.label));
  if (unknown) throw new QkvValueError(`${source}: label ${JSON.stringify(unknown.label)} is not one the model knows (${classifier.labels.join(', ')})`);
  const predicted = classifier.predict(examples.map((example) => example.text)).labels;
  const truth = examples.map((example) => example.label);
  const report = classificationReport(truth, predicted, classifier.labels);
  const groups = examples[0]?.group === undefined ? null : groupReport(truth, predicted, examples.map((example) => example.group!), classifier.labels);
  return { report, groups };
}

function registerPretrain(program: Command): void {
  const bert = program.command('bert').description('BERT encoders: pre-training (MLM + NSP)');
  const command = bert
    .command('pretrain')
    .description('pre-train a BERT (masked LM + next-sentence prediction) on text, with a WordPiece tokenizer trained on it')
    .requiredOption('--data <file>', 'text (.txt: blank lines between documents) or .jsonl/.csv (one document per record); repeatable', collect)
    .requiredOption('--out <dir>', 'model folder to write');
  modelSizeOptions(command);
  trainingOptions(command, PRETRAIN_DEFAULTS)
    .option('--text-column <name>', 'text column of .jsonl/.csv data', 'text')
    .option('--no-nsp', 'masked LM only (BertForMaskedLM), no next-sentence pairs')
    .option('--whole-word-masking', 'choose whole words (a word with its ## pieces) for masking')
    .action(async (flags: TrainingFlags & { data: string[]; out: string; vocabSize: number; hiddenSize: number; layers: number; heads: number; textColumn: string; nsp: boolean; wholeWordMasking?: boolean; json?: boolean }) => {
      const log = flags.json ? () => {} : (line: string) => console.log(line);
      const documents = readDocuments(flags.data, flags.textColumn);
      const config = trainConfig(PRETRAIN_DEFAULTS, flags);
      log(`qkv: pre-training BERT (${flags.layers} layers, hidden ${flags.hiddenSize}, ${flags.heads} heads${flags.nsp ? ', MLM + NSP' : ', MLM'}) on ${documents.length} documents`);
      const progress = trainerProgress(Boolean(flags.json));
      const result = await pretrainBert({
        documents,
        vocabSize: flags.vocabSize,
        model: modelSize(flags, config.blockSize),
        config,
        data: { nextSentencePrediction: flags.nsp, wholeWordMasking: Boolean(flags.wholeWordMasking) },
        outDir: flags.out,
        hooks: progress,
      });
      progress.stop();
      const { summary, before, after } = result;
      const summaryJson = {
        out: flags.out,
        steps: summary.steps,
        train_tokens: result.trainTokens,
        tokens_per_second: summary.tokensPerSecond,
        wall_time_s: summary.wallTimeSeconds,
        mlm_loss_start: before.mlmLoss,
        mlm_loss_end: after.mlmLoss,
        mlm_accuracy_end: after.mlmAccuracy,
        nsp_loss_end: after.nspLoss,
        nsp_accuracy_end: after.nspAccuracy,
        interrupted: summary.interrupted,
      };
      if (flags.json) console.log(JSON.stringify(summaryJson));
      log(`trained ${summary.steps} steps in ${summary.wallTimeSeconds.toFixed(1)} s, ${Math.round(summary.tokensPerSecond)} tokens/s (padding included)`);
      log(`held-out MLM loss ${before.mlmLoss.toFixed(3)} → ${after.mlmLoss.toFixed(3)} nats (uniform: ${Math.log(result.tokenizer.vocabSize).toFixed(3)}), masked-token accuracy ${percent(after.mlmAccuracy)}`);
      if (after.nspAccuracy !== null) log(`held-out NSP loss ${before.nspLoss!.toFixed(3)} → ${after.nspLoss!.toFixed(3)}, accuracy ${percent(after.nspAccuracy)}`);
      log(`model folder: ${flags.out}`);
    });
}

interface ClassifyTrainFlags extends TrainingFlags {
  model?: string; fromScratch?: boolean; bagOfWords?: boolean; data: string; out: string; test?: string; textColumn: string; labelColumn: string;
  group?: string; validationFraction: number; vocabSize: number; hiddenSize: number; layers: number; heads: number; json?: boolean;
}

function registerClassify(program: Command): void {
  const classify = program.command('classify').description('sequence classification: fine-tune, predict, evaluate (BERT or the bag-of-words baseline)');
  const train = classify
    .command('train')
    .description('train a classifier on labelled JSONL/CSV: fine-tune a BERT folder (--model), a BERT from scratch, or the bag-of-words baseline')
    .option('--model <dir>', 'pre-trained BERT folder to fine-tune')
    .option('--from-scratch', 'a new BERT (and WordPiece tokenizer trained on the data)')
    .option('--bag-of-words', 'the bag-of-words logistic-regression baseline')
    .requiredOption('--data <file>', 'labelled training data (.jsonl or .csv)')
    .requiredOption('--out <dir>', 'model folder to write')
    .option('--test <file>', 'labelled test data, evaluated after training')
    .option('--group <column>', 'with --test: metrics per value of this column and the largest gap')
    .option('--validation-fraction <x>', 'share of the training data held out for the validation loss', numberOption('--validation-fraction', 0.01, 0.5), 0.1);
  columnOptions(train);
  modelSizeOptions(train);
  trainingOptions(train, CLASSIFY_TRAIN_DEFAULTS).action(async (flags: ClassifyTrainFlags) => {
    const sources = [flags.model !== undefined, Boolean(flags.fromScratch), Boolean(flags.bagOfWords)].filter(Boolean).length;
    if (sources !== 1) throw new InvalidArgumentError('classify train: give exactly one of --model DIR, --from-scratch, --bag-of-words');
    const log = flags.json ? () => {} : (line: string) => console.log(line);
    const all = readLabelledFile(flags.data, { textColumn: flags.textColumn, labelColumn: flags.labelColumn });
    const labels = labelSet(all);
    if (labels.length < 2) throw new QkvValueError(`${flags.data}: column "${flags.labelColumn}" has ${labels.length} distinct label(s); a classifier needs at least 2`);
    const config = trainConfig(CLASSIFY_TRAIN_DEFAULTS, flags);
    const started = performance.now();
    let trainingSummary: Record<string, unknown>;
    if (flags.bagOfWords) {
      log(`qkv: bag-of-words logistic regression on ${all.length} examples, ${labels.length} labels`);
      const model = trainBagOfWords(all, { labels, steps: flags.steps ?? 300, learningRate: flags.lr, seed: flags.seed });
      saveBagOfWords(flags.out, model);
      trainingSummary = { kind: 'bag-of-words', features: model.vocabulary.length };
    } else {
      const { train: trainSet, validation } = holdOut(all, flags.validationFraction);
      let model: BertForSequenceClassification;
      let tokenizer;
      if (flags.model !== undefined) {
        ({ tokenizer } = loadBert(flags.model));
        model = loadBert(flags.model, { as: 'BertForSequenceClassification', labels }).model as BertForSequenceClassification;
        if (config.blockSize > model.config.max_position_embeddings) config.blockSize = model.config.max_position_embeddings;
      } else {
        tokenizer = trainWordPiece(trainSet.map((example) => example.text), { vocabSize: flags.vocabSize });
        model = new BertForSequenceClassification({ ...modelSize(flags, config.blockSize), vocab_size: tokenizer.vocabSize }, { labels, rng: new Rng(flags.seed) });
      }
      log(`qkv: fine-tuning BERT (${flags.model ? `from ${flags.model}` : 'from scratch'}) on ${trainSet.length} examples (${validation.length} held out), ${labels.length} labels`);
      const progress = trainerProgress(Boolean(flags.json));
      const summary = await fineTuneClassifier({ model, tokenizer, train: trainSet, validation, config, outDir: flags.out, hooks: progress });
      progress.stop();
      trainingSummary = { kind: 'bert', steps: summary.steps, final_loss: summary.finalLoss, final_val_loss: summary.finalValLoss, tokens_per_second: summary.tokensPerSecond };
    }
    const out: Record<string, unknown> = { out: flags.out, labels, ...trainingSummary, wall_time_s: (performance.now() - started) / 1000 };
    log(`trained in ${((performance.now() - started) / 1000).toFixed(1)} s; model folder: ${flags.out}`);
    if (flags.test !== undefined) {
      const test = readLabelledFile(flags.test, { textColumn: flags.textColumn, labelColumn: flags.labelColumn, groupColumn: flags.group });
      const { report, groups } = evaluateExamples(loadClassifier(flags.out), test, flags.test);
      out.test = { accuracy: report.accuracy, macro_f1: report.macro.f1, micro_f1: report.micro.f1, weighted_f1: report.weighted.f1, ...(groups ? { gaps: groups.gaps } : {}) };
      log(`test (${flags.test}):\n${formatReport(report)}`);
      if (groups) log(formatGroups(groups));
    }
    if (flags.json) console.log(JSON.stringify(out));
  });

  columnOptions(
    classify
      .command('predict')
      .description('predict labels for texts (arguments) or a file (--data)')
      .requiredOption('--model <dir>', 'classifier folder (BERT or bag-of-words)')
      .option('--data <file>', '.jsonl/.csv of texts')
      .option('--json', 'print JSON: {"predictions": [{"label", "probabilities"}]}')
      .argument('[texts...]', 'texts to classify'),
    false,
  ).action((texts: string[], flags: { model: string; data?: string; textColumn: string; json?: boolean }) => {
    const inputs = flags.data !== undefined ? readLabelledFile(flags.data, { textColumn: flags.textColumn, labelColumn: null }).map((e) => e.text) : texts;
    if (inputs.length === 0) throw new InvalidArgumentError('classify predict: give texts as arguments or --data FILE');
    const classifier = loadClassifier(flags.model);
    const { labels, probabilities } = classifier.predict(inputs);
    if (flags.json) {
      console.log(JSON.stringify({ labels: classifier.labels, predictions: labels.map((label, i) => ({ label, probabilities: probabilities[i] })) }));
      return;
    }
    labels.forEach((label, i) => console.log(`${label}\t${Math.max(...probabilities[i]).toFixed(3)}\t${inputs[i].slice(0, 60)}`));
  });

  columnOptions(
    classify
      .command('eval')
      .description('accuracy, precision, recall, F1 (per class, macro, micro, weighted), confusion matrix; --group for the fairness gap')
      .requiredOption('--model <dir>', 'classifier folder (BERT or bag-of-words)')
      .requiredOption('--data <file>', 'labelled .jsonl/.csv')
      .option('--group <column>', 'metrics per value of this column, and the largest gap between groups')
      .option('--json', 'print one JSON object'),
  ).action((flags: { model: string; data: string; textColumn: string; labelColumn: string; group?: string; json?: boolean }) => {
    const examples = readLabelledFile(flags.data, { textColumn: flags.textColumn, labelColumn: flags.labelColumn, groupColumn: flags.group });
    const { report, groups } = evaluateExamples(loadClassifier(flags.model), examples, flags.data);
    if (flags.json) {
      console.log(JSON.stringify({ ...report, ...(groups ? { groups: groups.groups.map(({ group, report: r }) => ({ group, ...r })), gaps: groups.gaps } : {}) }));
      return;
    }
    console.log(formatReport(report));
    if (groups) console.log(formatGroups(groups));
  });
}

function registerEmbed(program: Command): void {
  program
    .command('embed')
    .description('sentence embeddings from a BERT folder: mean-pooled over real tokens, L2-normalised')
    .requiredOption('--model <dir>', 'any BERT folder qkv can load')
    .option('--file <path>', 'embed each non-empty line of this file')
    .option('--batch-size <n>', 'texts per forward pass', integerOption('--batch-size', 1), 32)
    .option('--json', 'print {"embeddings": [[...], ...], "dim": N}')
    .argument('[texts...]', 'texts to embed')
    .action((texts: string[], flags: { model: string; file?: string; batchSize: number; json?: boolean }) => {
      const inputs = flags.file !== undefined ? readFileSync(flags.file, 'utf8').split('\n').filter((line) => line.trim() !== '') : texts;
      if (inputs.length === 0) throw new InvalidArgumentError('embed: give texts as arguments or --file PATH');
      const loaded = loadModel(flags.model);
      if (loaded.kind !== 'bert') throw new QkvValueError(`${flags.model}: model_type is "${loaded.modelType}"; qkv embed needs a BERT folder (model_type "bert")`);
      const vectors = embedTexts(loaded.model, loaded.tokenizer, inputs, { batchSize: flags.batchSize });
      const dim = vectors[0].length;
      if (flags.json) console.log(JSON.stringify({ embeddings: vectors.map((v) => Array.from(v)), dim }));
      else vectors.forEach((v, i) => console.log(`${inputs[i].slice(0, 40)}\t[${Array.from(v.subarray(0, 4), (x) => x.toFixed(4)).join(', ')}, …] (${dim})`));
    });
}

function registerCalibrate(program: Command): void {
  columnOptions(
    program
      .command('calibrate')
      .description('few-shot classification with a causal LM, before and after contextual calibration (Zhao et al. 2021)')
      .requiredOption('--model <dir>', 'causal LM folder (GPT or Llama)')
      .requiredOption('--data <file>', 'labelled test .jsonl/.csv')
      .option('--demos <file>', 'labelled pool the demonstrations are drawn from (default: --data)')
      .requiredOption('--label-words <pairs>', 'label=word,… the word the prompt uses for each label')
      .option('--shots <n>', 'demonstrations per prompt', integerOption('--shots', 1), 4)
      .option('--seeds <list>', 'comma-separated seeds, one demonstration set each', '1,2,3,4,5')
      .option('--orders <n>', 'orders of each demonstration set', integerOption('--orders', 1), 1)
      .option('--limit <n>', 'score at most this many test examples', integerOption('--limit', 1), 200)
      .option('--words <n>', 'words kept of each input in the prompt', integerOption('--words', 1), DEFAULT_TEMPLATE.maxInputWords)
      .option('--json', 'print one JSON object'),
  ).action((flags: { model: string; data: string; demos?: string; labelWords: string; shots: number; seeds: string; orders: number; limit: number; words: number; textColumn: string; labelColumn: string; json?: boolean }) => {
    const labelWords = new Map(flags.labelWords.split(',').map((pair) => {
      const [label, word] = pair.split('=');
      if (!label || !word) throw new InvalidArgumentError(`--label-words must be label=word,…, got "${pair}"`);
      return [label, word] as const;
    }));
    const seeds = flags.seeds.split(',').map((s) => Number(s));
    if (seeds.some((s) => !Number.isInteger(s))) throw new InvalidArgumentError(`--seeds must be integers, got "${flags.seeds}"`);
    const read = (path: string) => readLabelledFile(path, { textColumn: flags.textColumn, labelColumn: flags.labelColumn });
    const all = read(flags.data);
    // A fixed spread over the whole file, so runs compare.
    const test = evenlySpaced(all, flags.limit);
    const labels = [...labelWords.keys()];
    const { model, tokenizer } = loadCausalLM(flags.model);
    const total = seeds.length * flags.orders;
    const bar = createProgress({ total: total * (test.length + 3), silent: Boolean(flags.json) });
    const runs = runCalibrationExperiment({
      model, tokenizer, labels, labelWords, pool: flags.demos ? read(flags.demos) : all, test, shots: flags.shots, seeds, orders: flags.orders,
      template: { ...DEFAULT_TEMPLATE, maxInputWords: flags.words }, onProgress: (done) => bar.update(done),
    });
    bar.stop();
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const summary = {
      accuracy_before: mean(runs.map((r) => r.accuracyBefore)),
      accuracy_after: mean(runs.map((r) => r.accuracyAfter)),
      macro_f1_before: mean(runs.map((r) => r.macroF1Before)),
      macro_f1_after: mean(runs.map((r) => r.macroF1After)),
    };
    if (flags.json) {
      console.log(JSON.stringify({ labels, label_words: Object.fromEntries(labelWords), shots: flags.shots, test_examples: test.length, runs, ...summary }));
      return;
    }
    console.log(`contextual calibration, ${flags.shots}-shot, ${test.length} test examples; predicted shares in label order (${labels.join(', ')})`);
    console.log('seed order  demo labels                      acc before  acc after  F1 before  F1 after  predicted before  predicted after   p_cf');
    for (const r of runs) {
      const shares = (xs: number[]) => xs.map((x) => x.toFixed(2)).join('/').padEnd(16);
      console.log(`${String(r.seed).padStart(4)} ${String(r.order).padStart(5)}  ${r.demonstrationLabels.join(',').slice(0, 31).padEnd(31)}  ${percent(r.accuracyBefore).padStart(10)}  ${percent(r.accuracyAfter).padStart(9)}  ${r.macroF1Before.toFixed(3).padStart(9)}  ${r.macroF1After.toFixed(3).padStart(8)}  ${shares(r.predictedBefore)}  ${shares(r.predictedAfter)}  ${r.contentFree.map((x) => x.toFixed(2)).join('/')}`);
    }
    console.log(`mean accuracy ${percent(summary.accuracy_before)} → ${percent(summary.accuracy_after)}, macro-F1 ${summary.macro_f1_before.toFixed(3)} → ${summary.macro_f1_after.toFixed(3)}`);
  });
}

export function registerBertCommands(program: Command): void {
  registerPretrain(program);
  registerClassify(program);
  registerEmbed(program);
  registerCalibrate(program);
}
