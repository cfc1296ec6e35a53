/**
 * Loads any model folder qkv can read, choosing the architecture from `config.json`'s
 * `model_type` (Hugging Face's field).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonObject, type JsonObject } from '../io/config.ts';
import { QkvError } from '../tensor/errors.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import type { CausalLM } from './causal-lm.ts';
import { loadGPT } from './gpt-folder.ts';

export interface LoadedCausalLM {
  model: CausalLM;
  tokenizer: Tokenizer;
  generationConfig: JsonObject;
}

export function loadCausalLM(dir: string): LoadedCausalLM {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new QkvError(`${dir}: not a model folder (no config.json)`);
  const modelType = readJsonObject(configPath).model_type ?? 'gpt2';
  switch (modelType) {
    case 'gpt2':
      return loadGPT(dir);
    default:
      throw new QkvError(`${configPath}: model_type ${JSON.stringify(modelType)} is not supported (supported: gpt2)`);
  }
}
