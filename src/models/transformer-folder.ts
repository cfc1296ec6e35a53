/**
 * Encoder–decoder model folders: `config.json` (BART/Marian field names, `model_type:
 * "transformer"` or `"rnn-seq2seq"`, `is_encoder_decoder: true`), `model.safetensors`,
 * `tokenizer.json`, `generation_config.json` (decoder start, EOS, beams). The weights keep
 * BART's names but qkv's `o_proj`, so the folder is read by qkv, not by `transformers`.
 *
 * Tied tables (`model.shared.weight` = `model.encoder.embed_tokens.weight` = …) are saved once,
 * under the first name, as Hugging Face does; loading fills the other names back in.
 */
import { join } from 'node:path';
import { loadModelFolder, saveModelFolder, untieStateDict, MODEL_FOLDER_FILES } from '../io/model-folder.ts';
import { optionalBoolean, optionalInteger, optionalNumber, optionalOneOf, requireInteger, type JsonObject } from '../io/config.ts';
import { QkvFormatError } from '../io/errors.ts';
import type { Module } from '../nn/module.ts';
import { POSITION_SCHEMES } from '../nn/positions.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { tokenizerFromJson, tokenizerToJson } from '../tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { RnnSeq2Seq } from './rnn-seq2seq.ts';
import { rnnSeq2SeqConfigFromJson, rnnSeq2SeqConfigToJson } from './rnn-seq2seq-folder.ts';
import { Transformer } from './transformer.ts';
import { TRANSFORMER_DEFAULTS, resolveTransformerConfig, type TransformerConfig } from './transformer-config.ts';

/** Either encoder–decoder qkv builds. */
export type Seq2SeqModel = Transformer | RnnSeq2Seq;

/** The `model_type` values of encoder–decoder folders. */
export const SEQ2SEQ_MODEL_TYPES = ['transformer', 'rnn-seq2seq'] as const;

export function transformerConfigToJson(config: TransformerConfig): JsonObject {
  return {
    architectures: ['TransformerForConditionalGeneration'],
    model_type: 'transformer',
    is_encoder_decoder: true,
    ...config,
    activation_function: 'relu',
    torch_dtype: 'float32',
  };
}

/** Reads the config; errors name the file and the field. */
export function transformerConfigFromJson(json: JsonObject, file: string): TransformerConfig {
  if (json.model_type !== 'transformer') throw new QkvFormatError(file, `model_type is ${JSON.stringify(json.model_type)}; a Transformer folder has "transformer"`, 'model_type');
  if (json.activation_function !== undefined && json.activation_function !== 'relu') {
    throw new QkvFormatError(file, `${JSON.stringify(json.activation_function)} is not supported (the Transformer's FFN uses "relu")`, 'activation_function');
  }
  const positive = { min: 1 };
  const probability = { min: 0, lessThan: 1 };
  const d = TRANSFORMER_DEFAULTS;
  const integer = (field: keyof TransformerConfig, fallback: number): number => optionalInteger(json, field, file, positive) ?? fallback;
  const number = (field: keyof TransformerConfig, fallback: number): number => optionalNumber(json, field, file, probability) ?? fallback;
  const flag = (field: keyof TransformerConfig, fallback: boolean): boolean => optionalBoolean(json, field, file) ?? fallback;
  const bos = requireInteger(json, 'bos_token_id', file, { min: 0 });
  return resolveTransformerConfig({
    vocab_size: requireInteger(json, 'vocab_size', file, positive),
    d_model: requireInteger(json, 'd_model', file, positive),
    encoder_layers: integer('encoder_layers', d.encoder_layers),
    decoder_layers: integer('decoder_layers', d.decoder_layers),
    encoder_attention_heads: integer('encoder_attention_heads', d.encoder_attention_heads),
    decoder_attention_heads: integer('decoder_attention_heads', d.decoder_attention_heads),
    encoder_ffn_dim: integer('encoder_ffn_dim', d.encoder_ffn_dim),
    decoder_ffn_dim: integer('decoder_ffn_dim', d.decoder_ffn_dim),
    max_position_embeddings: integer('max_position_embeddings', d.max_position_embeddings),
    dropout: number('dropout', d.dropout),
    attention_dropout: number('attention_dropout', d.attention_dropout),
    activation_dropout: number('activation_dropout', d.activation_dropout),
    label_smoothing: number('label_smoothing', d.label_smoothing),
    init_std: optionalNumber(json, 'init_std', file, { min: 0 }) ?? d.init_std,
    layer_norm_eps: optionalNumber(json, 'layer_norm_eps', file, { min: 0 }) ?? d.layer_norm_eps,
    position: optionalOneOf(json, 'position', file, POSITION_SCHEMES) ?? d.position,
    normalize_before: flag('normalize_before', d.normalize_before),
    scale_embedding: flag('scale_embedding', d.scale_embedding),
    share_encoder_decoder_embeddings: flag('share_encoder_decoder_embeddings', d.share_encoder_decoder_embeddings),
    tie_word_embeddings: flag('tie_word_embeddings', d.tie_word_embeddings),
    pad_token_id: requireInteger(json, 'pad_token_id', file, { min: 0 }),
    bos_token_id: bos,
    eos_token_id: requireInteger(json, 'eos_token_id', file, { min: 0 }),
    decoder_start_token_id: optionalInteger(json, 'decoder_start_token_id', file, { min: 0 }) ?? bos,
  });
}

/** Adds back the names of tied tensors the file holds once (`model.encoder.embed_tokens.weight` → `model.shared.weight`). */
export function restoreTiedNames(model: Module, tensors: Map<string, Tensor>): Map<string, Tensor> {
  const { tiedNames } = untieStateDict(model.stateDict());
  const out = new Map(tensors);
  for (const [alias, first] of tiedNames) {
    const value = tensors.get(first);
    if (!out.has(alias) && value !== undefined) out.set(alias, value);
  }
  return out;
}

/** Writes a Transformer or GRU seq2seq folder (each file atomically); returns the files written. */
export function saveSeq2SeqModel(dir: string, model: Seq2SeqModel, tokenizer: Tokenizer, generationConfig: JsonObject = {}): string[] {
  const config = model instanceof Transformer ? transformerConfigToJson(model.config) : rnnSeq2SeqConfigToJson(model.config);
  const { files } = saveModelFolder(dir, {
    config,
    stateDict: model.stateDict(),
    tokenizerJson: tokenizerToJson(tokenizer),
    generationConfig: {
      decoder_start_token_id: model.config.decoder_start_token_id,
      bos_token_id: model.config.bos_token_id,
      eos_token_id: model.config.eos_token_id,
      pad_token_id: model.config.pad_token_id,
      num_beams: 4,
      length_penalty: 1,
      max_new_tokens: 64,
      ...generationConfig,
    },
  });
  return files;
}

export interface LoadedSeq2Seq {
  model: Seq2SeqModel;
  tokenizer: Tokenizer;
  generationConfig: JsonObject;
}

/** Reads a folder written by `saveSeq2SeqModel`, choosing the class from `model_type`. @example const { model, tokenizer } = loadSeq2SeqFolder('runs/dates'); */
export function loadSeq2SeqFolder(dir: string): LoadedSeq2Seq {
  const folder = loadModelFolder(dir, { requireTokenizer: true });
  const configPath = join(dir, MODEL_FOLDER_FILES.config);
  let model: Seq2SeqModel;
  if (folder.config.model_type === 'transformer') model = new Transformer(transformerConfigFromJson(folder.config, configPath));
  else if (folder.config.model_type === 'rnn-seq2seq') model = new RnnSeq2Seq(rnnSeq2SeqConfigFromJson(folder.config, configPath));
  else throw new QkvValueError(`${configPath}: model_type ${JSON.stringify(folder.config.model_type)} is not an encoder–decoder (expected ${SEQ2SEQ_MODEL_TYPES.join(' or ')})`);
  model.loadStateDict(restoreTiedNames(model, folder.tensors));
  const tokenizer = tokenizerFromJson(folder.tokenizer, join(dir, MODEL_FOLDER_FILES.tokenizer));
  return { model, tokenizer, generationConfig: folder.generationConfig ?? {} };
}
