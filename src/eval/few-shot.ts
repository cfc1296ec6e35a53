/**
 * Few-shot classification with any qkv causal LM: a prompt of k labelled demonstrations and the
 * test input, and the probability the model gives each label word as the continuation. Run over
 * several demonstration sets and orders, before and after contextual calibration (calibration.ts),
 * it shows the label bias a prompt carries and how much calibration removes.
 *
 * Legend: L = labels, T = prompt + label tokens, V = vocab.
 */
import type { CausalLM } from '../models/causal-lm.ts';
import { noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { argmaxRows, calibrate, CONTENT_FREE_INPUTS, contentFreeDistribution } from './calibration.ts';
import { classificationReport } from './classification-metrics.ts';

export interface PromptTemplate {
  /** Before each input (default "Text: "). */
  inputPrefix: string;
  /** Between the input and its label word (default "\nLabel:"); the word follows after a space. */
  labelPrefix: string;
  /** Between demonstrations (default "\n\n"). */
  separator: string;
  /** Inputs are cut to this many words, so k demonstrations fit the context (default 24). */
  maxInputWords: number;
}

export const DEFAULT_TEMPLATE: PromptTemplate = { inputPrefix: 'Text: ', labelPrefix: '\nLabel:', separator: '\n\n', maxInputWords: 24 };

export interface Demonstration {
  text: string;
  label: string;
}

const clip = (text: string, words: number): string => text.split(/\s+/).filter(Boolean).slice(0, words).join(' ');

/** The prompt up to where the model must name the label: demonstrations, then the input and the label prefix. */
export function buildFewShotPrompt(demonstrations: readonly Demonstration[], input: string, labelWords: ReadonlyMap<string, string>, template: PromptTemplate = DEFAULT_TEMPLATE): string {
  const shots = demonstrations.map((demo) => {
    const word = labelWords.get(demo.label);
    if (word === undefined) throw new QkvValueError(`few-shot prompt: no label word for label ${JSON.stringify(demo.label)}`);
    return `${template.inputPrefix}${clip(demo.text, template.maxInputWords)}${template.labelPrefix} ${word}`;
  });
  return [...shots, `${template.inputPrefix}${clip(input, template.maxInputWords)}${template.labelPrefix}`].join(template.separator);
}

/**
 * P(label word | prompt) for each label word (the product over its tokens), unnormalised. The
 * prompt is cut from the left to fit the context; one forward scores every label.
 */
export function labelWordProbabilities(model: CausalLM, tokenizer: Tokenizer, prompt: string, labelWords: readonly string[]): number[] {
  const continuations = labelWords.map((word) => tokenizer.encodeIds(` ${word}`));
  if (continuations.some((ids) => ids.length === 0)) throw new QkvValueError(`few-shot: a label word encodes to no tokens: ${JSON.stringify(labelWords)}`);
  const longest = Math.max(...continuations.map((ids) => ids.length));
  let promptIds = tokenizer.encodeIds(prompt);
  const room = model.contextLength - longest;
  if (room < 1) throw new QkvValueError(`few-shot: label words of ${longest} tokens leave no room in a context of ${model.contextLength}`);
  if (promptIds.length > room) promptIds = promptIds.slice(promptIds.length - room);
  if (promptIds.length === 0) throw new QkvValueError('few-shot: the prompt encodes to no tokens');
  const L = labelWords.length;
  const T = promptIds.length + longest;
  const ids = new Float32Array(L * T);
  continuations.forEach((continuation, l) => ids.set([...promptIds, ...continuation], l * T)); // right-padded with id 0: causal, so harmless
  return noGrad(() => {
    const logProbs = model.forward(new Tensor(ids, [L, T])).logits.logSoftmax(-1); // (L, T, V)
    return continuations.map((continuation, l) => {
      let total = 0;
      continuation.forEach((id, k) => (total += logProbs.get(l, promptIds.length - 1 + k, id)));
      return Math.exp(total);
    });
  });
}

export interface CalibrationRun {
  seed: number;
  order: number;
  /** The demonstrations' labels, in prompt order. */
  demonstrationLabels: string[];
  accuracyBefore: number;
  accuracyAfter: number;
  /** Macro-F1: unlike accuracy it does not reward predicting the majority label everywhere. */
  macroF1Before: number;
  macroF1After: number;
  /** Share of test inputs predicted as each label, in label order. */
  predictedBefore: number[];
  predictedAfter: number[];
  /** p_cf, in label order. */
  contentFree: number[];
}

export interface CalibrationExperiment {
  model: CausalLM;
  tokenizer: Tokenizer;
  labels: readonly string[];
  /** Label → the word the prompt uses for it. */
  labelWords: ReadonlyMap<string, string>;
  /** Pool the demonstrations are drawn from. */
  pool: readonly Demonstration[];
  test: readonly Demonstration[];
  shots: number;
  seeds: readonly number[];
  /** Orders of each demonstration set (default 1). */
  orders?: number;
  template?: PromptTemplate;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Accuracy and predicted-label shares before and after contextual calibration, for each
 * demonstration set (seed) and order.
 */
export function runCalibrationExperiment(experiment: CalibrationExperiment): CalibrationRun[] {
  const { model, tokenizer, labels, labelWords, pool, test, shots } = experiment;
  const template = experiment.template ?? DEFAULT_TEMPLATE;
  const orders = experiment.orders ?? 1;
  if (shots < 1 || shots > pool.length) throw new QkvValueError(`calibrate: shots must be in [1, ${pool.length}] (the demonstration pool), got ${shots}`);
  if (test.length === 0) throw new QkvValueError('calibrate: no test examples');
  const words = labels.map((label) => {
    const word = labelWords.get(label);
    if (word === undefined) throw new QkvValueError(`calibrate: no label word for label ${JSON.stringify(label)}`);
    return word;
  });
  const truth = test.map((example) => {
    const index = labels.indexOf(example.label);
    if (index < 0) throw new QkvValueError(`calibrate: test label ${JSON.stringify(example.label)} is not one of ${labels.join(', ')}`);
    return index;
  });
  const wasTraining = model.training;
  model.eval();
  const runs: CalibrationRun[] = [];
  const total = experiment.seeds.length * orders * (test.length + CONTENT_FREE_INPUTS.length);
  let done = 0;
  for (const seed of experiment.seeds) {
    const rng = new Rng(seed);
    const chosen = Array.from(rng.permutation(pool.length).subarray(0, shots), (i) => pool[i]);
    // Distinct orders (the first as drawn), as long as there are that many permutations.
    const seenOrders = new Set<string>();
    const drawOrder = (first: boolean): Int32Array => {
      let permutation = first ? Int32Array.from({ length: shots }, (_, i) => i) : rng.permutation(shots);
      for (let tries = 0; tries < 100 && seenOrders.has(permutation.join()); tries++) permutation = rng.permutation(shots);
      seenOrders.add(permutation.join());
      return permutation;
    };
    for (let order = 0; order < orders; order++) {
      const demos = Array.from(drawOrder(order === 0), (i) => chosen[i]);
      const score = (input: string): number[] => {
        const probabilities = labelWordProbabilities(model, tokenizer, buildFewShotPrompt(demos, input, labelWords, template), words);
        experiment.onProgress?.(++done, total);
        return probabilities;
      };
      const contentFree = contentFreeDistribution(CONTENT_FREE_INPUTS.map(score));
      const before = test.map((example) => score(example.text));
      const after = calibrate(before, contentFree);
      const share = (predicted: number[]) => labels.map((_, l) => predicted.filter((p) => p === l).length / predicted.length);
      const accuracy = (predicted: number[]) => predicted.filter((p, i) => p === truth[i]).length / predicted.length;
      const macroF1 = (predicted: number[]) => classificationReport(truth.map((l) => labels[l]), predicted.map((l) => labels[l]), labels).macro.f1;
      const predictedBefore = argmaxRows(before);
      const predictedAfter = argmaxRows(after);
      runs.push({
        seed,
        order,
        demonstrationLabels: demos.map((demo) => demo.label),
        accuracyBefore: accuracy(predictedBefore),
        accuracyAfter: accuracy(predictedAfter),
        macroF1Before: macroF1(predictedBefore),
        macroF1After: macroF1(predictedAfter),
        predictedBefore: share(predictedBefore),
        predictedAfter: share(predictedAfter),
        contentFree,
      });
    }
  }
  if (wasTraining) model.train();
  return runs;
}
