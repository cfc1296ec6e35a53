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
import { GPT } from './gpt.ts';
import { loadGPT, saveGPT } from './gpt-folder.ts';
import { Llama } from './llama.ts';
import { loadLlama, saveLlama } from './llama-folder.ts';

/** The `model_type` values `loadCausalLM` reads. */
export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama'] as const;

export interface LoadedCausalLM {
  model: CausalLM;
  tokenizer: Tokenizer;
  generationConfig: JsonObject;
}

/** @example const { model, tokenizer } = loadCausalLM('runs/small'); // a GPT or a Llama */
export function loadCausalLM(dir: string): LoadedCausalLM {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new QkvError(`${dir}: not a model folder (no config.json)`);
  const modelType = readJsonObject(configPath).model_type ?? 'gpt2';
  switch (modelType) {
    case 'gpt2':
      return loadGPT(dir);
    case 'llama':
      return loadLlama(dir);
    default:
      throw new QkvError(`${configPath}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`);
  }
}

/** Writes `model` as the Hugging Face folder of its architecture; returns the files written. */
export function saveCausalLM(dir: string, model: CausalLM, tokenizer: Tokenizer, generationConfig: JsonObject = {}): string[] {
  if (model instanceof GPT) return saveGPT(dir, model, tokenizer, generationConfig);
  if (model instanceof Llama) return saveLlama(dir, model, tokenizer, generationConfig);
  throw new QkvValueError(`saveCausalLM: no folder format for ${model.constructor.name} (supported: GPT, Llama)`);
}
