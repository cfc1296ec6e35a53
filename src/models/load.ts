/**
 * Loads any model folder qkv can read, choosing the architecture from `config.json`'s
 * `model_type` (Hugging Face's field), and saves any causal LM qkv builds.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonObject, type JsonObject } from '../io/config.ts';
import { QkvError, QkvValueError } from '../tensor/errors.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import type { CausalLM } from './causal-lm.ts';
import type { AnyBert } from './bert-heads.ts';
import { loadBert, type BertArchitecture } from './bert-folder.ts';
import { GPT } from './gpt.ts';
import { loadGPT, saveGPT } from './gpt-folder.ts';
import { Llama } from './llama.ts';
import { loadLlama, saveLlama } from './llama-folder.ts';
import { isQuantizedConfig, loadQuantizedCausalLM } from '../compress/quantize-model.ts';
import { isPrunedConfig, loadPrunedGPT } from '../compress/pruned-folder.ts';
import { importHuggingFace } from '../io/hf-import.ts';
import { loadGgufCausalLM } from '../io/gguf-model.ts';
import { SAFETENSORS_INDEX_FILE } from '../io/safetensors-shards.ts';
import { loadSeq2SeqFolder, SEQ2SEQ_MODEL_TYPES, type LoadedSeq2Seq } from './transformer-folder.ts';

/** The `model_type` values `loadCausalLM` reads. */
export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama'] as const;

export interface LoadedCausalLM {
  model: CausalLM;
  tokenizer: Tokenizer;
  generationConfig: JsonObject;
}

/** @example const { model, tokenizer } = loadCausalLM('runs/small'); // a GPT or a Llama */
export function loadCausalLM(dir: string): LoadedCausalLM {
  // a GGUF file (llama.cpp's format) rather than a folder: gpt2 or llama, packed Q8_0 / Q4_0 kept packed
  if (dir.endsWith('.gguf') && existsSync(dir)) return loadGgufCausalLM(dir);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new QkvError(`${dir}: not a model folder (no config.json)`);
  const config = readJsonObject(configPath);
  // a folder written by `qkv quantize` (packed Q8_0 / Q4_0 weights): any of the types below
  if (isQuantizedConfig(config)) return loadQuantizedCausalLM(dir);
  // head-pruned GPT-2 (smaller c_attn / c_proj, `pruned_heads` as in Hugging Face)
  if (isPrunedConfig(config)) return loadPrunedGPT(dir);
  // a Hugging Face checkpoint in shards (model.safetensors.index.json)
  if (!existsSync(join(dir, 'model.safetensors')) && existsSync(join(dir, SAFETENSORS_INDEX_FILE))) return importHuggingFace(dir);
  const modelType = config.model_type ?? 'gpt2';
  switch (modelType) {
    case 'gpt2':
      return loadGPT(dir);
    case 'llama':
      return loadLlama(dir);
    case 'bert':
      throw new QkvError(`${configPath}: model_type "bert" is not supported by loadCausalLM: a BERT encoder does not generate text (load it with loadModel or loadBert)`);
    case 'transformer':
    case 'rnn-seq2seq':
      throw new QkvError(`${configPath}: model_type ${JSON.stringify(modelType)} is an encoder–decoder, not a causal LM (load it with loadModel or loadSeq2SeqModel)`);
    default:
      throw new QkvError(`${configPath}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
}

/** Every `model_type` `loadModel` reads. */
export const LOADABLE_MODEL_TYPES = [...SUPPORTED_MODEL_TYPES, 'bert', ...SEQ2SEQ_MODEL_TYPES] as const;

/** What `loadModel` found: a causal LM (GPT, Llama) or a BERT encoder, tagged by `kind`. */
export type LoadedModel =
  | ({ kind: 'causal-lm'; modelType: 'gpt2' | 'llama' } & LoadedCausalLM)
  | { kind: 'bert'; modelType: 'bert'; model: AnyBert; architecture: BertArchitecture; tokenizer: Tokenizer }
  | ({ kind: 'seq2seq'; modelType: (typeof SEQ2SEQ_MODEL_TYPES)[number] } & LoadedSeq2Seq);

/**
 * Loads any model folder qkv reads, by `model_type`; narrow on `kind`.
 *
 * @example
 * const loaded = loadModel('runs/bert');
 * if (loaded.kind === 'bert') embedTexts(loaded.model, loaded.tokenizer, ['hello']);
 */
export function loadModel(dir: string): LoadedModel {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new QkvError(`${dir}: not a model folder (no config.json)`);
  const modelType = readJsonObject(configPath).model_type ?? 'gpt2';
  if (modelType === 'bert') return { kind: 'bert', modelType: 'bert', ...loadBert(dir) };
  if (modelType === 'gpt2' || modelType === 'llama') return { kind: 'causal-lm', modelType, ...loadCausalLM(dir) };
  if (modelType === 'transformer' || modelType === 'rnn-seq2seq') return { kind: 'seq2seq', modelType, ...loadSeq2SeqFolder(dir) };
  throw new QkvError(`${configPath}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${LOADABLE_MODEL_TYPES.join(', ')})`);
}

/** Writes `model` as the Hugging Face folder of its architecture; returns the files written. */
export function saveCausalLM(dir: string, model: CausalLM, tokenizer: Tokenizer, generationConfig: JsonObject = {}): string[] {
  if (model instanceof GPT) return saveGPT(dir, model, tokenizer, generationConfig);
  if (model instanceof Llama) return saveLlama(dir, model, tokenizer, generationConfig);
  throw new QkvValueError(`saveCausalLM: no folder format for ${model.constructor.name} (supported: GPT, Llama)`);
}

/** An encoder–decoder folder (`model_type` "transformer" or "rnn-seq2seq"). @example const { model, tokenizer } = loadSeq2SeqModel('runs/dates'); */
export function loadSeq2SeqModel(dir: string): LoadedSeq2Seq {
  const loaded = loadModel(dir);
  if (loaded.kind !== 'seq2seq') throw new QkvError(`${join(dir, 'config.json')}: model_type ${JSON.stringify(loaded.modelType)} is not an encoder–decoder (expected ${SEQ2SEQ_MODEL_TYPES.join(' or ')})`);
  return loaded;
}
