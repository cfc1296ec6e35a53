/**
 * `config.json` of the GRU seq2seq (`model_type: "rnn-seq2seq"`); the folder itself is written and
 * read with the Transformer's (`saveSeq2SeqModel` / `loadSeq2SeqFolder` in transformer-folder.ts).
 */
import { optionalInteger, optionalNumber, optionalOneOf, requireInteger, type JsonObject } from '../io/config.ts';
import { QkvFormatError } from '../io/errors.ts';
import { RNN_ATTENTION_KINDS, resolveRnnSeq2SeqConfig, type RnnSeq2SeqConfig } from './rnn-seq2seq.ts';

export function rnnSeq2SeqConfigToJson(config: RnnSeq2SeqConfig): JsonObject {
  return {
    architectures: [config.attention === 'none' ? 'GRUSeq2Seq' : 'GRUSeq2SeqWithAttention'],
    model_type: 'rnn-seq2seq',
    is_encoder_decoder: true,
    cell: 'gru',
    ...config,
    torch_dtype: 'float32',
  };
}

/** Reads the config; errors name the file and the field. */
export function rnnSeq2SeqConfigFromJson(json: JsonObject, file: string): RnnSeq2SeqConfig {
  if (json.model_type !== 'rnn-seq2seq') throw new QkvFormatError(file, `model_type is ${JSON.stringify(json.model_type)}; a GRU seq2seq folder has "rnn-seq2seq"`, 'model_type');
  if (json.cell !== undefined && json.cell !== 'gru') throw new QkvFormatError(file, `${JSON.stringify(json.cell)} is not supported (only "gru")`, 'cell');
  const positive = { min: 1 };
  const bos = requireInteger(json, 'bos_token_id', file, { min: 0 });
  return resolveRnnSeq2SeqConfig({
    vocab_size: requireInteger(json, 'vocab_size', file, positive),
    embedding_size: requireInteger(json, 'embedding_size', file, positive),
    hidden_size: requireInteger(json, 'hidden_size', file, positive),
    attention: optionalOneOf(json, 'attention', file, RNN_ATTENTION_KINDS) ?? 'additive',
    dropout: optionalNumber(json, 'dropout', file, { min: 0, lessThan: 1 }) ?? 0,
    label_smoothing: optionalNumber(json, 'label_smoothing', file, { min: 0, lessThan: 1 }) ?? 0,
    max_position_embeddings: optionalInteger(json, 'max_position_embeddings', file, positive) ?? 256,
    pad_token_id: requireInteger(json, 'pad_token_id', file, { min: 0 }),
    bos_token_id: bos,
    eos_token_id: requireInteger(json, 'eos_token_id', file, { min: 0 }),
    decoder_start_token_id: optionalInteger(json, 'decoder_start_token_id', file, { min: 0 }) ?? bos,
  });
}
