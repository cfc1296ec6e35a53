/**
 * GPT model folders in the Hugging Face layout: `config.json` (GPT2Config fields),
 * `model.safetensors` (GPT2LMHeadModel names), `tokenizer.json`, `generation_config.json`.
 *
 * Loading accepts the name variants found in real GPT-2 checkpoints: keys without the
 * `transformer.` prefix (files saved from GPT2Model), the tied `lm_head.weight`, and the
 * causal-mask buffers `attn.bias` / `attn.masked_bias` older transformers versions saved.
 */
import { join } from 'node:path';
import { readModelFolderFiles, saveModelFolder, MODEL_FOLDER_FILES } from '../io/model-folder.ts';
import { loadSafetensorsInto } from '../io/safetensors-load.ts';
import { noInitWeights } from '../nn/init.ts';
import { withBuildSlab } from '../tensor/build-slab.ts';
import { optionalInteger, optionalNumber, optionalOneOf, requireInteger, type JsonObject } from '../io/config.ts';
import { POSITION_SCHEMES } from '../nn/positions.ts';
import { tokenizerFromJson, tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { QkvError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { GPT, GPT_DEFAULTS, resolveGPTConfig, type GPTConfig } from './gpt.ts';
import { ADAPTIVE_HEAD_PREFIX, adaptiveConfigFromJson, adaptiveConfigToJson } from './gpt-adaptive.ts';

/** `config.json` for a GPT: GPT2Config's fields, so transformers' `AutoModelForCausalLM` reads it. */
export function gptConfigToJson(config: GPTConfig, extra: { bos_token_id?: number; eos_token_id?: number } = {}): JsonObject {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: config.vocab_size,
    n_positions: config.n_positions,
    n_ctx: config.n_positions,
    n_embd: config.n_embd,
    n_layer: config.n_layer,
    n_head: config.n_head,
    n_inner: null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: config.layer_norm_epsilon,
    embd_pdrop: config.embd_pdrop,
    attn_pdrop: config.attn_pdrop,
    resid_pdrop: config.resid_pdrop,
    initializer_range: config.initializer_range,
    tie_word_embeddings: true,
    scale_attn_weights: true,
    // qkv-specific, written only off the GPT-2 default so GPT-2 folders stay standard.
    ...(config.position === 'learned' ? {} : { position: config.position }),
    ...adaptiveConfigToJson(config),
    ...extra,
    torch_dtype: 'float32',
  };
}

/** Reads a GPT2Config `config.json`; errors name the file and the field. */
export function gptConfigFromJson(json: JsonObject, file: string): GPTConfig {
  if (json.model_type !== undefined && json.model_type !== 'gpt2') {
    throw new QkvError(`${file}: model_type is ${JSON.stringify(json.model_type)}; a GPT folder has "gpt2"`);
  }
  if (json.activation_function !== undefined && json.activation_function !== 'gelu_new') {
    throw new QkvError(`${file}: activation_function ${JSON.stringify(json.activation_function)} is not supported (GPT-2 uses "gelu_new")`);
  }
  if (json.n_inner !== undefined && json.n_inner !== null && json.n_inner !== 4 * Number(json.n_embd)) {
    throw new QkvError(`${file}: n_inner ${json.n_inner} is not supported (only 4·n_embd)`);
  }
  const positive = { min: 1 };
  const probability = { min: 0, max: 1 };
  const vocabSize = requireInteger(json, 'vocab_size', file, positive);
  return resolveGPTConfig({
    vocab_size: vocabSize,
    n_positions: optionalInteger(json, 'n_positions', file, positive) ?? GPT_DEFAULTS.n_positions,
    n_embd: requireInteger(json, 'n_embd', file, positive),
    n_layer: requireInteger(json, 'n_layer', file, positive),
    n_head: requireInteger(json, 'n_head', file, positive),
    layer_norm_epsilon: optionalNumber(json, 'layer_norm_epsilon', file, { min: 0 }) ?? GPT_DEFAULTS.layer_norm_epsilon,
    embd_pdrop: optionalNumber(json, 'embd_pdrop', file, probability) ?? GPT_DEFAULTS.embd_pdrop,
    attn_pdrop: optionalNumber(json, 'attn_pdrop', file, probability) ?? GPT_DEFAULTS.attn_pdrop,
    resid_pdrop: optionalNumber(json, 'resid_pdrop', file, probability) ?? GPT_DEFAULTS.resid_pdrop,
    initializer_range: optionalNumber(json, 'initializer_range', file, { min: 0 }) ?? GPT_DEFAULTS.initializer_range,
    position: optionalOneOf(json, 'position', file, POSITION_SCHEMES) ?? GPT_DEFAULTS.position,
    ...adaptiveConfigFromJson(json, file, vocabSize),
  });
}

/** qkv's name for a checkpoint tensor (`h.0…` → `transformer.h.0…`), or null for tied/buffer entries it has no slot for. */
export function gptStateDictName(fileName: string): string | null {
  if (fileName === 'lm_head.weight') return null; // tied to transformer.wte.weight
  if (fileName.startsWith(ADAPTIVE_HEAD_PREFIX)) return fileName; // qkv's adaptive output layer, beside the body
  if (/\.attn\.(bias|masked_bias)$/.test(fileName)) return null; // causal-mask buffers, rebuilt on the fly
  return fileName.startsWith('transformer.') ? fileName : `transformer.${fileName}`;
}

/** Maps checkpoint names onto qkv's (`h.0…` → `transformer.h.0…`) and drops tied/buffer entries. */
export function normalizeGPTStateDict(tensors: Map<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, tensor] of tensors) {
    const target = gptStateDictName(name);
    if (target !== null) out.set(target, tensor);
  }
  return out;
}

export interface GPTFolder {
  model: GPT;
  tokenizer: Tokenizer;
  generationConfig: JsonObject;
}

/** Writes `dir` as a Hugging Face GPT-2 folder (each file atomically). */
export function saveGPT(dir: string, model: GPT, tokenizer: Tokenizer, generationConfig: JsonObject = {}): string[] {
  const eos = tokenizer.tokenToId('<|endoftext|>');
  const ids = eos === undefined ? {} : { bos_token_id: eos, eos_token_id: eos };
  const { files } = saveModelFolder(dir, {
    config: gptConfigToJson(model.config, ids),
    stateDict: model.stateDict(),
    tokenizerJson: tokenizerToJson(tokenizer),
    generationConfig: { ...ids, ...generationConfig },
  });
  return files;
}

/**
 * Reads a GPT folder written by qkv or by transformers (`save_pretrained(..., safe_serialization=True)`).
 * The model is built without random initialisation (it would only be overwritten, and the global
 * generator is left as it was) and the weights are read from the file straight into its parameters.
 */
export function loadGPT(dir: string): GPTFolder {
  const folder = readModelFolderFiles(dir, { requireTokenizer: true });
  const config = gptConfigFromJson(folder.config, join(dir, MODEL_FOLDER_FILES.config));
  // Storage from a few shared chunks (src/tensor/build-slab.ts): a mapped load replaces it anyway.
  const model = withBuildSlab(() => noInitWeights(() => new GPT(config)));
  loadSafetensorsInto(folder.weightsPath, new Map(Object.entries(model.stateDict())), { rename: gptStateDictName });
  const tokenizer = tokenizerFromJson(folder.tokenizer, join(dir, MODEL_FOLDER_FILES.tokenizer));
  return { model, tokenizer, generationConfig: folder.generationConfig ?? {} };
}
