/**
 * The encoder–decoder Transformer's `config.json`: field names from Hugging Face's BART / Marian
 * configs (`d_model`, `encoder_layers`, `encoder_ffn_dim`, `normalize_before`, `scale_embedding`,
 * `share_encoder_decoder_embeddings`, …), a default chosen on purpose for each, and presets from
 * the paper's base model down to what trains in seconds on a laptop core.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { POSITION_SCHEMES, type PositionScheme } from '../nn/positions.ts';

export interface TransformerConfig {
  /** Tokens in the (shared source/target) vocabulary. */
  vocab_size: number;
  /** Width C of the residual stream (paper: 512). */
  d_model: number;
  /** N_enc (paper: 6). */
  encoder_layers: number;
  /** N_dec (paper: 6). */
  decoder_layers: number;
  /** Heads of encoder self-attention (paper: 8). */
  encoder_attention_heads: number;
  /** Heads of decoder self- and cross-attention (paper: 8). */
  decoder_attention_heads: number;
  /** Inner width F of the encoder's feed-forward (paper: 2048 = 4·d_model). */
  encoder_ffn_dim: number;
  decoder_ffn_dim: number;
  /** Dropout on each sublayer output and on the embeddings (paper: 0.1). */
  dropout: number;
  /** Dropout on the attention weights (paper: none; BART 0). */
  attention_dropout: number;
  /** Dropout between fc1's ReLU and fc2 (the issue's FFN: Linear → ReLU → Dropout → Linear). */
  activation_dropout: number;
  /** Longest source or target; rows of a learned position table. */
  max_position_embeddings: number;
  /** qkv: positions from src/nn/positions.ts; the paper's fixed sinusoids by default. */
  position: PositionScheme;
  /** Pre-LN (x + Sublayer(Norm(x)), fairseq's name) when true; post-LN, the paper's Norm(x + Sublayer(x)), by default. */
  normalize_before: boolean;
  /** Multiply token embeddings by √d_model (paper, Marian: true). */
  scale_embedding: boolean;
  /** One table for source and target tokens (Marian's field; paper: shared, with a shared BPE vocabulary). */
  share_encoder_decoder_embeddings: boolean;
  /** Output projection = target embedding transposed (paper: tied). */
  tie_word_embeddings: boolean;
  /** ε of label smoothing in the training loss (paper: 0.1). */
  label_smoothing: number;
  /** Std of the normal init of learned position tables and untied tables (BART: 0.02). */
  init_std: number;
  layer_norm_eps: number;
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
  /** First decoder input (BART: eos, Marian: pad; qkv: bos). */
  decoder_start_token_id: number;
}

export type TransformerConfigInput = Partial<TransformerConfig> & Pick<TransformerConfig, 'vocab_size' | 'pad_token_id' | 'bos_token_id' | 'eos_token_id'>;

export const TRANSFORMER_DEFAULTS: Omit<TransformerConfig, 'vocab_size' | 'pad_token_id' | 'bos_token_id' | 'eos_token_id' | 'decoder_start_token_id'> = {
  d_model: 512,
  encoder_layers: 6,
  decoder_layers: 6,
  encoder_attention_heads: 8,
  decoder_attention_heads: 8,
  encoder_ffn_dim: 2048,
  decoder_ffn_dim: 2048,
  dropout: 0.1,
  attention_dropout: 0,
  activation_dropout: 0,
  max_position_embeddings: 256,
  position: 'sinusoidal',
  normalize_before: false,
  scale_embedding: true,
  share_encoder_decoder_embeddings: true,
  tie_word_embeddings: true,
  label_smoothing: 0.1,
  init_std: 0.02,
  layer_norm_eps: 1e-5,
};

type SizeFields = 'd_model' | 'encoder_layers' | 'decoder_layers' | 'encoder_attention_heads' | 'decoder_attention_heads' | 'encoder_ffn_dim' | 'decoder_ffn_dim' | 'dropout';

/** Sizes by name: `base` is the paper's, `small` trains the date task in minutes on 2 cores, `tiny` is for tests. */
export const TRANSFORMER_PRESETS: Record<'base' | 'small' | 'tiny', Pick<TransformerConfig, SizeFields>> = {
  base: { d_model: 512, encoder_layers: 6, decoder_layers: 6, encoder_attention_heads: 8, decoder_attention_heads: 8, encoder_ffn_dim: 2048, decoder_ffn_dim: 2048, dropout: 0.1 },
  small: { d_model: 64, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 4, decoder_attention_heads: 4, encoder_ffn_dim: 256, decoder_ffn_dim: 256, dropout: 0 },
  tiny: { d_model: 32, encoder_layers: 1, decoder_layers: 1, encoder_attention_heads: 2, decoder_attention_heads: 2, encoder_ffn_dim: 64, decoder_ffn_dim: 64, dropout: 0 },
};

/** Fills defaults and checks every field; errors name it. */
export function resolveTransformerConfig(input: TransformerConfigInput): TransformerConfig {
  const config: TransformerConfig = { ...TRANSFORMER_DEFAULTS, decoder_start_token_id: input.bos_token_id, ...input };
  const positive = ['vocab_size', 'd_model', 'encoder_layers', 'decoder_layers', 'encoder_attention_heads', 'decoder_attention_heads', 'encoder_ffn_dim', 'decoder_ffn_dim', 'max_position_embeddings'] as const;
  for (const field of positive) {
    if (!Number.isInteger(config[field]) || config[field] <= 0) throw new QkvValueError(`TransformerConfig: ${field} must be a positive integer, got ${config[field]}`);
  }
  for (const field of ['encoder_attention_heads', 'decoder_attention_heads'] as const) {
    if (config.d_model % config[field] !== 0) throw new QkvValueError(`TransformerConfig: d_model ${config.d_model} is not divisible by ${field} ${config[field]}`);
  }
  for (const field of ['pad_token_id', 'bos_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 0 || config[field] >= config.vocab_size) {
      throw new QkvValueError(`TransformerConfig: ${field} must be a token id in [0, ${config.vocab_size}), got ${config[field]}`);
    }
  }
  for (const field of ['dropout', 'attention_dropout', 'activation_dropout', 'label_smoothing'] as const) {
    if (!(config[field] >= 0 && config[field] < 1)) throw new QkvValueError(`TransformerConfig: ${field} must be in [0, 1), got ${config[field]}`);
  }
  if (!POSITION_SCHEMES.includes(config.position)) {
    throw new QkvValueError(`TransformerConfig: position must be one of ${POSITION_SCHEMES.join(', ')}, got ${JSON.stringify(config.position)}`);
  }
  return config;
}
