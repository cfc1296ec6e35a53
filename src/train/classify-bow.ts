/**
 * The bag-of-words baseline: multinomial logistic regression on word counts, built from qkv's own
 * tensor ops (a Linear layer, cross-entropy, AdamW), so the transformer's gain is measured against
 * the classic text classifier on the same split.
 *
 *   features(text) = log(1 + count(word)) over the vocabulary, L2-normalised   (N, F)
 *   logits = features · Wᵀ + b                                                 (N, L)
 *
 * Words are lower-cased runs of letters, digits and apostrophes; the vocabulary keeps the
 * `maxFeatures` most frequent words of the training texts seen at least `minCount` times.
 */
import { join } from 'node:path';
import { loadModelFolder, saveModelFolder, MODEL_FOLDER_FILES } from '../io/model-folder.ts';
import { requireStringArray } from '../io/config.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { AdamW } from '../optim/index.ts';
import { noGrad } from '../tensor/autograd.ts';
import { QkvError, QkvValueError } from '../tensor/errors.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { softmax } from '../tensor/ops/softmax.ts';
import { Rng } from '../tensor/random.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import type { Predictions } from './classify.ts';
import { labelIds, type LabelledExample } from './classify-data.ts';

/** `model_type` of a bag-of-words folder (qkv's own; transformers has no such model). */
export const BOW_MODEL_TYPE = 'qkv-bag-of-words';

const words = (text: string): string[] => text.toLowerCase().match(/[a-z0-9']+/g) ?? [];

/** The `maxFeatures` most frequent words seen at least `minCount` times (ties: alphabetical). */
export function buildVocabulary(texts: readonly string[], options: { maxFeatures?: number; minCount?: number } = {}): string[] {
  const counts = new Map<string, number>();
  for (const text of texts) for (const word of words(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return [...counts]
    .filter(([, count]) => count >= (options.minCount ?? 2))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.maxFeatures ?? 5000)
    .map(([word]) => word);
}

export class BagOfWordsClassifier extends Module {
  readonly classifier: Linear;
  readonly #index: Map<string, number>;

  constructor(readonly vocabulary: readonly string[], readonly labels: readonly string[], options: { rng?: Rng } = {}) {
    super();
    if (vocabulary.length === 0) throw new QkvValueError('BagOfWordsClassifier: empty vocabulary');
    if (labels.length < 2) throw new QkvValueError(`BagOfWordsClassifier: needs at least 2 labels, got ${JSON.stringify(labels)}`);
    this.#index = new Map(vocabulary.map((word, i) => [word, i]));
    this.classifier = new Linear(vocabulary.length, labels.length, { rng: options.rng ?? new Rng(0) });
  }

  /** texts → (N, F) log-count features, each row L2-normalised. */
  features(texts: readonly string[]): Tensor {
    const F = this.vocabulary.length;
    const data = new Float32Array(texts.length * F);
    texts.forEach((text, n) => {
      const row = data.subarray(n * F, (n + 1) * F);
      for (const word of words(text)) {
        const i = this.#index.get(word);
        if (i !== undefined) row[i]++;
      }
      let norm = 0;
      for (let i = 0; i < F; i++) {
        if (row[i] > 0) row[i] = Math.log1p(row[i]);
        norm += row[i] * row[i];
      }
      if (norm > 0) for (let i = 0; i < F; i++) row[i] /= Math.sqrt(norm);
    });
    return new Tensor(data, [texts.length, F]);
  }

  /** features (N, F) → logits (N, L); with targets (N), the mean cross-entropy. */
  forward(features: Tensor, options: { targets?: IndexLike } = {}): { logits: Tensor; loss?: Tensor } {
    const logits = this.classifier.forward(features);
    return options.targets === undefined ? { logits } : { logits, loss: crossEntropy(logits, options.targets) };
  }

  predict(texts: readonly string[]): Predictions {
    const probabilities = noGrad(() => {
      const probs = softmax(this.forward(this.features(texts)).logits, -1);
      const L = this.labels.length;
      const values = probs.contiguousData();
      return texts.map((_, n) => Array.from(values.subarray(n * L, (n + 1) * L)));
    });
    return { labels: probabilities.map((row) => this.labels[row.indexOf(Math.max(...row))]), probabilities };
  }
}

export interface BagOfWordsTraining {
  labels: readonly string[];
  /** Full-batch AdamW steps (default 300). */
  steps?: number;
  learningRate?: number;
  /** Decoupled weight decay: the L2 regulariser of the logistic regression (default 1e-3). */
  weightDecay?: number;
  maxFeatures?: number;
  minCount?: number;
  seed?: number;
  onStep?: (step: number, loss: number) => void;
}

/**
 * Fits the baseline on labelled examples (full batch: the problem is convex and small).
 *
 * @example const bow = trainBagOfWords(train, { labels: ['fiction', 'news'] }); bow.predict(['…']).labels
 */
export function trainBagOfWords(examples: readonly LabelledExample[], options: BagOfWordsTraining): BagOfWordsClassifier {
  const vocabulary = buildVocabulary(examples.map((example) => example.text), options);
  const model = new BagOfWordsClassifier(vocabulary, options.labels, { rng: new Rng(options.seed ?? 0) });
  const features = model.features(examples.map((example) => example.text));
  const targets = labelIds(examples, options.labels, 'training data');
  const optimizer = new AdamW([{ params: [model.classifier.weight] }, { params: [model.classifier.bias!], weightDecay: 0 }], {
    lr: options.learningRate ?? 0.05,
    weightDecay: options.weightDecay ?? 1e-3,
  });
  for (let step = 1; step <= (options.steps ?? 300); step++) {
    const loss = model.forward(features, { targets }).loss!;
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
    options.onStep?.(step, loss.item());
  }
  return model.eval();
}

/** Writes the baseline as a model folder: config.json (vocabulary, id2label) and model.safetensors. */
export function saveBagOfWords(dir: string, model: BagOfWordsClassifier): string[] {
  return saveModelFolder(dir, {
    config: {
      model_type: BOW_MODEL_TYPE,
      architectures: ['BagOfWordsLogisticRegression'],
      id2label: Object.fromEntries(model.labels.map((label, id) => [String(id), label])),
      labels: [...model.labels],
      vocabulary: [...model.vocabulary],
    },
    stateDict: model.stateDict(),
  }).files;
}

export function loadBagOfWords(dir: string): BagOfWordsClassifier {
  const folder = loadModelFolder(dir);
  const file = join(dir, MODEL_FOLDER_FILES.config);
  if (folder.config.model_type !== BOW_MODEL_TYPE) throw new QkvError(`${file}: model_type is ${JSON.stringify(folder.config.model_type)}; a bag-of-words folder has "${BOW_MODEL_TYPE}"`);
  const model = new BagOfWordsClassifier(requireStringArray(folder.config, 'vocabulary', file), requireStringArray(folder.config, 'labels', file));
  model.loadStateDict(folder.tensors);
  return model.eval();
}
