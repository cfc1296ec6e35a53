/**
 * BERT model folders in the Hugging Face layout: `config.json` (BertConfig fields, `model_type:
 * "bert"`, `architectures`, `id2label`/`label2id`), `model.safetensors` (BertForPreTraining /
 * BertForMaskedLM / BertForSequenceClassification / BertModel names) and the WordPiece
 * `tokenizer.json` beside them.
 *
 * `architectures[0]` says which head to build. Loading accepts the name variants of real BERT
 * checkpoints: the tied `cls.predictions.decoder.weight` / `.decoder.bias` (dropped: they are
 * the word embeddings and `cls.predictions.bias`), TF-era `LayerNorm.gamma` / `.beta`, a body saved
 * without the `bert.` prefix, and the `embeddings.position_ids` buffer.
 */
import { join } from 'node:path';
import { loadModelFolder, saveModelFolder, MODEL_FOLDER_FILES } from '../io/model-folder.ts';
import { optionalInteger, optionalNumber, optionalObject, optionalOneOf, optionalStringArray, requireInteger, type JsonObject } from '../io/config.ts';
import { tokenizerFromJson, tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { QkvError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { BERT_DEFAULTS, BertModel, resolveBertConfig, type BertConfig } from './bert.ts';
import { BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, type AnyBert } from './bert-heads.ts';

/** The `architectures` qkv reads and writes for BERT. */
export const BERT_ARCHITECTURES = ['BertForPreTraining', 'BertForMaskedLM', 'BertForSequenceClassification', 'BertModel'] as const;
export type BertArchitecture = (typeof BERT_ARCHITECTURES)[number];

export function bertArchitecture(model: AnyBert): BertArchitecture {
  if (model instanceof BertForPreTraining) return 'BertForPreTraining';
  if (model instanceof BertForMaskedLM) return 'BertForMaskedLM';
  if (model instanceof BertForSequenceClassification) return 'BertForSequenceClassification';
  return 'BertModel';
}

/** `config.json` for a BERT: BertConfig's fields, so transformers' `AutoModel*` reads it. */
export function bertConfigToJson(config: BertConfig, architecture: BertArchitecture, labels?: readonly string[]): JsonObject {
  const json: JsonObject = {
    architectures: [architecture],
    model_type: 'bert',
    vocab_size: config.vocab_size,
    hidden_size: config.hidden_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    intermediate_size: config.intermediate_size,
    hidden_act: 'gelu',
    hidden_dropout_prob: config.hidden_dropout_prob,
    attention_probs_dropout_prob: config.attention_probs_dropout_prob,
    max_position_embeddings: config.max_position_embeddings,
    type_vocab_size: config.type_vocab_size,
    initializer_range: config.initializer_range,
    layer_norm_eps: config.layer_norm_eps,
    pad_token_id: config.pad_token_id,
    position_embedding_type: 'absolute',
    classifier_dropout: null,
    use_cache: true,
    torch_dtype: 'float32',
  };
  if (labels !== undefined) {
    json.id2label = Object.fromEntries(labels.map((label, id) => [String(id), label]));
    json.label2id = Object.fromEntries(labels.map((label, id) => [label, id]));
    json.problem_type = 'single_label_classification';
  }
  return json;
}

/** Reads a BertConfig `config.json`; errors name the file and the field. */
export function bertConfigFromJson(json: JsonObject, file: string): BertConfig {
  if (json.model_type !== 'bert') throw new QkvError(`${file}: model_type is ${JSON.stringify(json.model_type)}; a BERT folder has "bert"`);
  if (json.hidden_act !== undefined && json.hidden_act !== 'gelu') {
    throw new QkvError(`${file}: hidden_act ${JSON.stringify(json.hidden_act)} is not supported (BERT uses "gelu", the exact erf form)`);
  }
  if (json.position_embedding_type !== undefined && json.position_embedding_type !== 'absolute') {
    throw new QkvError(`${file}: position_embedding_type ${JSON.stringify(json.position_embedding_type)} is not supported (only "absolute")`);
  }
  const positive = { min: 1 };
  const probability = { min: 0, max: 1 };
  return resolveBertConfig({
    vocab_size: requireInteger(json, 'vocab_size', file, positive),
    hidden_size: requireInteger(json, 'hidden_size', file, positive),
    num_hidden_layers: requireInteger(json, 'num_hidden_layers', file, positive),
    num_attention_heads: requireInteger(json, 'num_attention_heads', file, positive),
    intermediate_size: requireInteger(json, 'intermediate_size', file, positive),
    hidden_dropout_prob: optionalNumber(json, 'hidden_dropout_prob', file, probability) ?? BERT_DEFAULTS.hidden_dropout_prob,
    attention_probs_dropout_prob: optionalNumber(json, 'attention_probs_dropout_prob', file, probability) ?? BERT_DEFAULTS.attention_probs_dropout_prob,
    max_position_embeddings: optionalInteger(json, 'max_position_embeddings', file, positive) ?? BERT_DEFAULTS.max_position_embeddings,
    type_vocab_size: optionalInteger(json, 'type_vocab_size', file, positive) ?? BERT_DEFAULTS.type_vocab_size,
    initializer_range: optionalNumber(json, 'initializer_range', file, { min: 0 }) ?? BERT_DEFAULTS.initializer_range,
    layer_norm_eps: optionalNumber(json, 'layer_norm_eps', file, { min: 0 }) ?? BERT_DEFAULTS.layer_norm_eps,
    pad_token_id: optionalInteger(json, 'pad_token_id', file, { min: 0 }) ?? BERT_DEFAULTS.pad_token_id,
  });
}

/** Class names in id order from `id2label` ("0": "news", …); errors name the file. */
export function labelsFromJson(json: JsonObject, file: string): string[] {
  const id2label = optionalObject(json, 'id2label', file);
  if (id2label === undefined) throw new QkvError(`${file}: id2label is missing (a BertForSequenceClassification folder names its labels)`);
  const count = Object.keys(id2label).length;
  return Array.from({ length: count }, (_, id) => {
    const label = id2label[String(id)];
    if (typeof label !== 'string') throw new QkvError(`${file}: id2label["${id}"] must be a string (ids 0…${count - 1}), got ${JSON.stringify(label)}`);
    return label;
  });
}

/** Maps checkpoint names onto qkv's: drops tied and buffer entries, renames gamma/beta, adds the `bert.` prefix. */
export function normalizeBertStateDict(tensors: Map<string, Tensor>, architecture: BertArchitecture): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [original, tensor] of tensors) {
    if (original === 'cls.predictions.decoder.weight' || original === 'cls.predictions.decoder.bias') continue; // tied
    if (original.endsWith('embeddings.position_ids')) continue; // a buffer of 0…T−1, rebuilt on the fly
    let name = original.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
    const isBody = /^(embeddings|encoder|pooler)\./.test(name);
    if (architecture === 'BertModel' && name.startsWith('bert.')) name = name.slice('bert.'.length);
    else if (architecture !== 'BertModel' && isBody) name = `bert.${name}`;
    // BertForMaskedLM has no pooler; a checkpoint trained with one (BertForPreTraining) still loads.
    if (architecture === 'BertForMaskedLM' && name.startsWith('bert.pooler.')) continue;
    out.set(name, tensor);
  }
  return out;
}

export interface BertFolder {
  model: AnyBert;
  architecture: BertArchitecture;
  tokenizer: Tokenizer;
}

/** Writes `dir` as a Hugging Face BERT folder (each file atomically); returns the files written. */
export function saveBert(dir: string, model: AnyBert, tokenizer: Tokenizer): string[] {
  const architecture = bertArchitecture(model);
  const labels = model instanceof BertForSequenceClassification ? model.labels : undefined;
  const { files } = saveModelFolder(dir, {
    config: bertConfigToJson(model.config, architecture, labels),
    stateDict: model.stateDict(),
    tokenizerJson: tokenizerToJson(tokenizer),
  });
  return files;
}

/** Builds the model `config.json` names (random weights). */
export function buildBert(config: BertConfig, architecture: BertArchitecture, labels?: readonly string[]): AnyBert {
  switch (architecture) {
    case 'BertForPreTraining':
      return new BertForPreTraining(config);
    case 'BertForMaskedLM':
      return new BertForMaskedLM(config);
    case 'BertForSequenceClassification':
      return new BertForSequenceClassification(config, { labels: labels ?? [] });
    case 'BertModel':
      return new BertModel(config);
  }
}

/**
 * Reads a BERT folder written by qkv or by transformers (`save_pretrained(..., safe_serialization=True)`).
 * With `as`, the body is loaded into another head (a pre-trained folder fine-tuned for
 * classification: the new head starts from random weights, as HF's `from_pretrained` does).
 *
 * @example const { model, tokenizer } = loadBert('runs/bert');
 */
export function loadBert(dir: string, options: { as?: BertArchitecture; labels?: readonly string[] } = {}): BertFolder {
  const folder = loadModelFolder(dir, { requireTokenizer: true });
  const configFile = join(dir, MODEL_FOLDER_FILES.config);
  const config = bertConfigFromJson(folder.config, configFile);
  const [saved = 'BertModel'] = optionalStringArray(folder.config, 'architectures', configFile) ?? [];
  const savedArchitecture = optionalOneOf({ architecture: saved }, 'architecture', `${configFile} architectures[0]`, BERT_ARCHITECTURES)!;
  const architecture = options.as ?? savedArchitecture;
  let labels = options.labels;
  if (architecture === 'BertForSequenceClassification' && labels === undefined) labels = labelsFromJson(folder.config, configFile);
  const model = buildBert(config, architecture, labels);
  const tensors = normalizeBertStateDict(folder.tensors, architecture);
  // Into the saved architecture, strict; into another head, the body must be complete (a missing
  // pooler or head starts random).
  const { missingKeys } = model.loadStateDict(tensors, { strict: architecture === savedArchitecture });
  const missingBody = missingKeys.filter((name) => !/^(cls\.|classifier\.|bert\.pooler\.|pooler\.)/.test(name));
  if (missingBody.length > 0) throw new QkvError(`${join(dir, MODEL_FOLDER_FILES.weights)}: missing BERT weights: ${missingBody.join(', ')}`);
  const tokenizer = tokenizerFromJson(folder.tokenizer, join(dir, MODEL_FOLDER_FILES.tokenizer));
  return { model, architecture, tokenizer };
}
