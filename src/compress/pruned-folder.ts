/**
 * Model folders of head-pruned GPTs: the GPT-2 folder with smaller `c_attn` / `c_proj` tensors
 * and `pruned_heads` in config.json (Hugging Face's field: layer → removed heads, which
 * transformers' GPT-2 applies at load, so the folder also loads there). `loadCausalLM` reads it.
 *
 * @example
 * pruneHeads(model, { 0: [1] });
 * savePrunedGPT('runs/pruned', model, tokenizer);
 * loadCausalLM('runs/pruned'); // the same heads, removed
 */
import { join } from 'node:path';
import { isJsonObject, type JsonObject } from '../io/config.ts';
import { QkvFormatError } from '../io/errors.ts';
import { loadModelFolder, saveModelFolder, MODEL_FOLDER_FILES } from '../io/model-folder.ts';
import { GPT } from '../models/gpt.ts';
import { gptConfigFromJson, gptConfigToJson, normalizeGPTStateDict } from '../models/gpt-folder.ts';
import type { LoadedCausalLM } from '../models/load.ts';
import { tokenizerFromJson, tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { prunedHeadsOf, pruneHeads, type PrunedHeads } from './prune-heads.ts';

/** True when config.json lists pruned heads. */
export function isPrunedConfig(config: JsonObject): boolean {
  return isJsonObject(config.pruned_heads) && Object.keys(config.pruned_heads).length > 0;
}

/** Writes the pruned GPT's folder (each file atomically, config.json last). */
export function savePrunedGPT(dir: string, model: GPT, tokenizer: Tokenizer, generationConfig: JsonObject = {}): string[] {
  const eos = tokenizer.tokenToId('<|endoftext|>');
  const ids = eos === undefined ? {} : { bos_token_id: eos, eos_token_id: eos };
  const prunedHeads = Object.fromEntries(Object.entries(prunedHeadsOf(model)).map(([layer, heads]) => [layer, heads]));
  return saveModelFolder(dir, {
    config: { ...gptConfigToJson(model.config, ids), pruned_heads: prunedHeads },
    stateDict: model.stateDict(),
    tokenizerJson: tokenizerToJson(tokenizer),
    generationConfig: { ...ids, ...generationConfig },
  }).files;
}

/** Reads a folder written by `savePrunedGPT` (or transformers' GPT-2 after `prune_heads`). */
export function loadPrunedGPT(dir: string): LoadedCausalLM {
  const folder = loadModelFolder(dir, { requireTokenizer: true });
  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  if ((folder.config.model_type ?? 'gpt2') !== 'gpt2') throw new QkvFormatError(configPath, 'qkv prunes heads of gpt2 models only', 'pruned_heads');
  const model = new GPT(gptConfigFromJson(folder.config, configPath));
  const plan: PrunedHeads = {};
  for (const [layer, heads] of Object.entries(folder.config.pruned_heads as JsonObject)) {
    if (!Array.isArray(heads) || !heads.every((h) => Number.isInteger(h))) throw new QkvFormatError(configPath, `expected a list of head indices, found ${JSON.stringify(heads)}`, `pruned_heads["${layer}"]`);
    plan[Number(layer)] = heads as number[];
  }
  pruneHeads(model, plan);
  model.loadStateDict(normalizeGPTStateDict(folder.tensors));
  const tokenizer = tokenizerFromJson(folder.tokenizer, join(dir, MODEL_FOLDER_FILES.tokenizer));
  return { model, tokenizer, generationConfig: folder.generationConfig ?? {} };
}
