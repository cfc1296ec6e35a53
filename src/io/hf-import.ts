/**
 * Importing a Hugging Face model folder (what `save_pretrained` writes, or a Hub download):
 * `config.json` picks the architecture (`model_type`, else `architectures[0]`), the weights come
 * from `model.safetensors` or the shards of `model.safetensors.index.json` (F32, F16 or BF16;
 * 16-bit values widen to float32 exactly), and `tokenizer.json` gives the tokenizer.
 *
 *   gpt2  / GPT2LMHeadModel, GPT2Model    → qkv GPT   (src/models/gpt.ts)
 *   llama / LlamaForCausalLM, LlamaModel  → qkv Llama (src/models/llama.ts)
 *   bert  / BertModel, BertForMaskedLM, BertForPreTraining, BertForSequenceClassification
 *                                         → qkv BERT  (src/models/bert.ts; `importHuggingFaceModel`)
 *
 * An architecture qkv has no model for is named in the error with the ones it has; tensors the
 * model needs and the file lacks are named by `loadStateDict`, prefixed with the folder.
 *
 * @example
 * const { model, tokenizer, architecture } = importHuggingFace('downloads/gpt2'); // architecture 'gpt2'
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectJsonObject, parseJsonText, readJsonObject, type JsonObject } from './config.ts';
import { QkvFileNotFoundError, QkvFormatError } from './errors.ts';
import { MODEL_FOLDER_FILES } from './model-folder.ts';
import { loadSafetensors, toTensor, type SafeTensorEntry } from './safetensors.ts';
import { loadShardedSafetensors, SAFETENSORS_INDEX_FILE } from './safetensors-shards.ts';
import { GPT } from '../models/gpt.ts';
import { gptConfigFromJson, normalizeGPTStateDict } from '../models/gpt-folder.ts';
import { Llama } from '../models/llama.ts';
import { llamaConfigFromJson, normalizeLlamaStateDict } from '../models/llama-folder.ts';
import { BERT_ARCHITECTURES, buildBert, bertConfigFromJson, labelsFromJson, normalizeBertStateDict, type BertArchitecture } from '../models/bert-folder.ts';
import type { AnyBert } from '../models/bert-heads.ts';
import { QkvStateDictError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { tokenizerFromJson } from '../tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';

/** The architectures `importHuggingFace` reads, by `model_type`, with the class names that mean them. */
export const HF_IMPORT_ARCHITECTURES: Record<string, string[]> = {
  gpt2: ['GPT2LMHeadModel', 'GPT2Model'],
  llama: ['LlamaForCausalLM', 'LlamaModel'],
  bert: ['BertModel', 'BertForMaskedLM', 'BertForPreTraining', 'BertForSequenceClassification'],
};

type ImportArchitecture = 'gpt2' | 'llama' | 'bert';

export interface ImportedModel {
  architecture: 'gpt2' | 'llama';
  model: GPT | Llama;
  tokenizer: Tokenizer;
  generationConfig: JsonObject;
}

/** `model_type`, or the type of `architectures[0]`; throws naming what was found and what is supported. */
export function architectureOf(config: JsonObject, file: string): ImportArchitecture {
  const modelType = config.model_type;
  if (typeof modelType === 'string' && modelType in HF_IMPORT_ARCHITECTURES) return modelType as ImportArchitecture;
  const className = Array.isArray(config.architectures) ? config.architectures[0] : undefined;
  for (const [type, classes] of Object.entries(HF_IMPORT_ARCHITECTURES)) {
    if (modelType === undefined && typeof className === 'string' && classes.includes(className)) return type as ImportArchitecture;
  }
  const supported = Object.entries(HF_IMPORT_ARCHITECTURES).map(([type, classes]) => `${type} (${classes.join(', ')})`).join('; ');
  throw new QkvFormatError(file, `architecture ${JSON.stringify(modelType ?? className ?? null)} is not supported; qkv imports ${supported}`, 'model_type');
}

/** The folder's float tensors, from one file or from the shards. */
export function readHuggingFaceWeights(dir: string): Map<string, Tensor> {
  const single = join(dir, MODEL_FOLDER_FILES.weights);
  let entries: Map<string, SafeTensorEntry>;
  if (existsSync(single)) entries = loadSafetensors(single).tensors;
  else if (existsSync(join(dir, SAFETENSORS_INDEX_FILE))) entries = loadShardedSafetensors(dir);
  else throw new QkvFileNotFoundError(single, `no weights: neither ${MODEL_FOLDER_FILES.weights} nor ${SAFETENSORS_INDEX_FILE} (a pytorch_model.bin must be re-saved with safe_serialization=True)`);
  const tensors = new Map<string, Tensor>();
  for (const [name, entry] of entries) {
    if (entry.data instanceof Float32Array || entry.data instanceof Float64Array) tensors.set(name, toTensor(entry, name));
  }
  return tensors;
}

export interface ImportedBert {
  architecture: 'bert';
  /** The head class config.json names (BertModel when none). */
  bertArchitecture: BertArchitecture;
  model: AnyBert;
  tokenizer: Tokenizer;
}

/** Loads the tensors into `model`; a missing or mis-shaped tensor is named, with the folder. */
function loadInto(dir: string, model: { loadStateDict(state: Map<string, Tensor>): unknown }, state: Map<string, Tensor>): void {
  try {
    model.loadStateDict(state);
  } catch (error) {
    if (error instanceof QkvStateDictError) throw new QkvStateDictError(`${dir}: ${error.message}`);
    throw error;
  }
}

/**
 * Loads a Hugging Face GPT-2, Llama or BERT folder into the matching qkv model.
 *
 * @example const imported = importHuggingFaceModel('bert-base-uncased'); // imported.architecture === 'bert'
 */
export function importHuggingFaceModel(dir: string): ImportedModel | ImportedBert {
  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  if (!existsSync(configPath)) throw new QkvFileNotFoundError(configPath, 'missing: a Hugging Face model folder has a config.json');
  const config = readJsonObject(configPath);
  if (architectureOf(config, configPath) !== 'bert') return importHuggingFace(dir);
  const tokenizerPath = join(dir, MODEL_FOLDER_FILES.tokenizer);
  if (!existsSync(tokenizerPath)) throw new QkvFileNotFoundError(tokenizerPath, 'missing: qkv reads the tokenizer from tokenizer.json (save it with a fast tokenizer)');
  const tokenizer = tokenizerFromJson(parseJsonText(readFileSync(tokenizerPath, 'utf8'), tokenizerPath), tokenizerPath);
  const className = Array.isArray(config.architectures) && typeof config.architectures[0] === 'string' ? config.architectures[0] : 'BertModel';
  if (!(BERT_ARCHITECTURES as readonly string[]).includes(className)) throw new QkvFormatError(configPath, `${JSON.stringify(className)} is not a BERT class qkv has (${BERT_ARCHITECTURES.join(', ')})`, 'architectures[0]');
  const bertArchitecture = className as BertArchitecture;
  const bertConfig = bertConfigFromJson({ ...config, model_type: 'bert' }, configPath);
  const model = buildBert(bertConfig, bertArchitecture, bertArchitecture === 'BertForSequenceClassification' ? labelsFromJson(config, configPath) : undefined);
  loadInto(dir, model, normalizeBertStateDict(readHuggingFaceWeights(dir), bertArchitecture));
  return { architecture: 'bert', bertArchitecture, model, tokenizer };
}

/**
 * Loads a Hugging Face GPT-2 or Llama folder into the matching qkv model (a BERT folder:
 * `importHuggingFaceModel`).
 *
 * @example const { model, tokenizer } = importHuggingFace('TinyLlama-1.1B'); // sharded BF16 works
 */
export function importHuggingFace(dir: string): ImportedModel {
  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  if (!existsSync(configPath)) throw new QkvFileNotFoundError(configPath, 'missing: a Hugging Face model folder has a config.json');
  const config = readJsonObject(configPath);
  const found = architectureOf(config, configPath);
  if (found === 'bert') throw new QkvFormatError(configPath, 'a BERT encoder is not a causal LM: import it with importHuggingFaceModel', 'model_type');
  const architecture = found;
  const tokenizerPath = join(dir, MODEL_FOLDER_FILES.tokenizer);
  if (!existsSync(tokenizerPath)) throw new QkvFileNotFoundError(tokenizerPath, 'missing: qkv reads the tokenizer from tokenizer.json (save it with a fast tokenizer)');
  const tokenizer = tokenizerFromJson(parseJsonText(readFileSync(tokenizerPath, 'utf8'), tokenizerPath), tokenizerPath);
  const generationPath = join(dir, MODEL_FOLDER_FILES.generationConfig);
  const generationConfig = existsSync(generationPath) ? expectJsonObject(readJsonObject(generationPath), generationPath) : {};
  const tensors = readHuggingFaceWeights(dir);
  let model: GPT | Llama;
  let state: Map<string, Tensor>;
  if (architecture === 'gpt2') {
    model = new GPT(gptConfigFromJson({ ...config, model_type: 'gpt2' }, configPath));
    state = normalizeGPTStateDict(tensors);
  } else {
    const llamaConfig = llamaConfigFromJson({ ...config, model_type: 'llama' }, configPath);
    model = new Llama(llamaConfig);
    // LlamaModel (no head) files name the body without the `model.` prefix
    const prefixed = new Map([...tensors].map(([name, t]) => [name.startsWith('model.') || name === 'lm_head.weight' ? name : `model.${name}`, t]));
    state = normalizeLlamaStateDict(prefixed, llamaConfig);
  }
  loadInto(dir, model, state);
  return { architecture, model, tokenizer, generationConfig };
}
