/**
 * Llama model folders in the Hugging Face layout: `config.json` (LlamaConfig fields,
 * `model_type: "llama"`), `model.safetensors` (LlamaForCausalLM names), `tokenizer.json`,
 * `generation_config.json`.
 *
 * Loading accepts what transformers writes: `head_dim` equal to hidden_size/num_attention_heads,
 * no `rope_scaling`, `mlp_bias` false, and a tied model's `lm_head.weight` saved or omitted.
 */
import { join } from 'node:path';
import { readModelFolderFiles, saveModelFolder, MODEL_FOLDER_FILES } from '../io/model-folder.ts';
import { loadSafetensorsInto } from '../io/safetensors-load.ts';
import { noInitWeights } from '../nn/init.ts';
import { withBuildSlab } from '../tensor/build-slab.ts';
import { optionalBoolean, optionalInteger, optionalNumber, requireInteger, type JsonObject } from '../io/config.ts';
import { tokenizerFromJson, tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { QkvError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { LLAMA_DEFAULTS, Llama, resolveLlamaConfig, type LlamaConfig } from './llama.ts';

/** `config.json` for a Llama: LlamaConfig's fields, so transformers' `AutoModelForCausalLM` reads it. */
export function llamaConfigToJson(config: LlamaConfig, extra: { bos_token_id?: number; eos_token_id?: number } = {}): JsonObject {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: config.vocab_size,
    hidden_size: config.hidden_size,
    intermediate_size: config.intermediate_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    num_key_value_heads: config.num_key_value_heads,
    head_dim: config.hidden_size / config.num_attention_heads,
    max_position_embeddings: config.max_position_embeddings,
    rms_norm_eps: config.rms_norm_eps,
    rope_theta: config.rope_theta,
    rope_scaling: null,
    tie_word_embeddings: config.tie_word_embeddings,
    attention_bias: config.attention_bias,
    attention_dropout: config.attention_dropout,
    mlp_bias: false,
    hidden_act: config.hidden_act,
    initializer_range: config.initializer_range,
    pretraining_tp: 1,
    use_cache: true,
    ...extra,
    torch_dtype: 'float32',
  };
}

/** Reads a LlamaConfig `config.json`; errors name the file and the field. */
export function llamaConfigFromJson(json: JsonObject, file: string): LlamaConfig {
  if (json.model_type !== 'llama') {
    throw new QkvError(`${file}: model_type is ${JSON.stringify(json.model_type)}; a Llama folder has "llama"`);
  }
  if (json.hidden_act !== undefined && json.hidden_act !== 'silu') {
    throw new QkvError(`${file}: hidden_act ${JSON.stringify(json.hidden_act)} is not supported (Llama uses "silu")`);
  }
  if (json.rope_scaling !== undefined && json.rope_scaling !== null) {
    throw new QkvError(`${file}: rope_scaling ${JSON.stringify(json.rope_scaling)} is not supported (only plain RoPE)`);
  }
  if (json.attention_bias === true || json.mlp_bias === true) {
    throw new QkvError(`${file}: attention_bias / mlp_bias true is not supported (Llama has no biases)`);
  }
  const positive = { min: 1 };
  const hiddenSize = requireInteger(json, 'hidden_size', file, positive);
  const heads = requireInteger(json, 'num_attention_heads', file, positive);
  const headDim = optionalInteger(json, 'head_dim', file, positive);
  if (headDim !== undefined && headDim * heads !== hiddenSize) {
    throw new QkvError(`${file}: head_dim ${headDim} is not hidden_size/num_attention_heads = ${hiddenSize / heads} (not supported)`);
  }
  return resolveLlamaConfig({
    vocab_size: requireInteger(json, 'vocab_size', file, positive),
    hidden_size: hiddenSize,
    intermediate_size: optionalInteger(json, 'intermediate_size', file, positive),
    num_hidden_layers: requireInteger(json, 'num_hidden_layers', file, positive),
    num_attention_heads: heads,
    // HF: null or absent means as many key/value heads as query heads
    num_key_value_heads: optionalInteger(json, 'num_key_value_heads', file, positive),
    max_position_embeddings: optionalInteger(json, 'max_position_embeddings', file, positive) ?? LLAMA_DEFAULTS.max_position_embeddings,
    rms_norm_eps: optionalNumber(json, 'rms_norm_eps', file, { greaterThan: 0 }) ?? LLAMA_DEFAULTS.rms_norm_eps,
    rope_theta: optionalNumber(json, 'rope_theta', file, { greaterThan: 0 }) ?? LLAMA_DEFAULTS.rope_theta,
    tie_word_embeddings: optionalBoolean(json, 'tie_word_embeddings', file) ?? LLAMA_DEFAULTS.tie_word_embeddings,
    attention_dropout: optionalNumber(json, 'attention_dropout', file, { min: 0, max: 1 }) ?? LLAMA_DEFAULTS.attention_dropout,
    initializer_range: optionalNumber(json, 'initializer_range', file, { min: 0 }) ?? LLAMA_DEFAULTS.initializer_range,
  });
}

/** qkv's name for a checkpoint tensor (the same), or null for entries a tied model has no slot for (`lm_head.weight`) and HF's rotary buffers. */
export function llamaStateDictName(fileName: string, config: LlamaConfig): string | null {
  if (config.tie_word_embeddings && fileName === 'lm_head.weight') return null; // the same values as model.embed_tokens.weight
  if (fileName.endsWith('rotary_emb.inv_freq')) return null; // older transformers saved it; recomputed from rope_theta
  return fileName;
}

/** Drops entries a tied model has no slot for (`lm_head.weight`) and HF's non-persistent rotary buffers. */
export function normalizeLlamaStateDict(tensors: Map<string, Tensor>, config: LlamaConfig): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, tensor] of tensors) {
    const target = llamaStateDictName(name, config);
    if (target !== null) out.set(target, tensor);
  }
  return out;
}

export interface LlamaFolder {
  model: Llama;
  tokenizer: Tokenizer;
  generationConfig: JsonObject;
}

/** Writes `dir` as a Hugging Face Llama folder (each file atomically). */
export function saveLlama(dir: string, model: Llama, tokenizer: Tokenizer, generationConfig: JsonObject = {}): string[] {
  const eos = tokenizer.tokenToId('<|endoftext|>');
  const ids = eos === undefined ? {} : { bos_token_id: eos, eos_token_id: eos };
  const { files } = saveModelFolder(dir, {
    config: llamaConfigToJson(model.config, ids),
    stateDict: model.stateDict(),
    tokenizerJson: tokenizerToJson(tokenizer),
    generationConfig: { ...ids, ...generationConfig },
  });
  return files;
}

/**
 * Reads a Llama folder written by qkv or by transformers (`save_pretrained(..., safe_serialization=True)`).
 * The model is built without random initialisation (the global generator is left as it was) and
 * the weights are read from the file straight into its parameters.
 */
export function loadLlama(dir: string): LlamaFolder {
  const folder = readModelFolderFiles(dir, { requireTokenizer: true });
  const config = llamaConfigFromJson(folder.config, join(dir, MODEL_FOLDER_FILES.config));
  // Storage from a few shared chunks (src/tensor/build-slab.ts): a mapped load replaces it anyway.
  const model = withBuildSlab(() => noInitWeights(() => new Llama(config)));
  loadSafetensorsInto(folder.weightsPath, new Map(Object.entries(model.stateDict())), { rename: (name) => llamaStateDictName(name, config) });
  const tokenizer = tokenizerFromJson(folder.tokenizer, join(dir, MODEL_FOLDER_FILES.tokenizer));
  return { model, tokenizer, generationConfig: folder.generationConfig ?? {} };
}
