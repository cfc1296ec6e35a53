/**
 * One loader for every classifier folder qkv writes: a BERT (`BertForSequenceClassification`) or
 * the bag-of-words baseline, chosen by `model_type`, behind the same `predict`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonObject } from '../io/config.ts';
import { QkvError } from '../tensor/errors.ts';
import { loadBert } from '../models/bert-folder.ts';
import { BertForSequenceClassification } from '../models/bert-heads.ts';
import { predictClasses, type Predictions } from './classify.ts';
import { BOW_MODEL_TYPE, loadBagOfWords } from './classify-bow.ts';

export interface LoadedClassifier {
  kind: 'bert' | 'bag-of-words';
  labels: readonly string[];
  predict(texts: readonly string[], options?: { batchSize?: number }): Predictions;
}

/** @example const classifier = loadClassifier('runs/genre'); classifier.predict(['…']).labels */
export function loadClassifier(dir: string): LoadedClassifier {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new QkvError(`${dir}: not a model folder (no config.json)`);
  const modelType = readJsonObject(configPath).model_type;
  if (modelType === BOW_MODEL_TYPE) {
    const model = loadBagOfWords(dir);
    return { kind: 'bag-of-words', labels: model.labels, predict: (texts) => model.predict(texts) };
  }
  if (modelType !== 'bert') {
    throw new QkvError(`${configPath}: model_type ${JSON.stringify(modelType)} is not a classifier (expected "bert" with BertForSequenceClassification, or "${BOW_MODEL_TYPE}")`);
  }
  const { model, architecture, tokenizer } = loadBert(dir);
  if (!(model instanceof BertForSequenceClassification)) {
    throw new QkvError(`${configPath}: architectures is ${architecture}, not BertForSequenceClassification (fine-tune it first: qkv classify train --model ${dir})`);
  }
  return { kind: 'bert', labels: model.labels, predict: (texts, options) => predictClasses(model, tokenizer, texts, options) };
}
