/**
 * What the trainer, the generator and the CLI need from a decoder-only language model, so GPT
 * and the Llama-style decoder go through the same code.
 */
import type { Module } from '../nn/module.ts';
import type { Tensor, IndexLike } from '../tensor/tensor.ts';

/** A cache of past keys/values; `length` is the number of positions it holds. */
export interface DecodingCache {
  readonly length: number;
}

export interface CausalLM extends Module {
  /** Tokens in the vocabulary. */
  readonly vocabSize: number;
  /** Longest sequence the model accepts (positions). */
  readonly contextLength: number;
  /** ids (B, T) → logits (B, T, V); with targets (B, T), also the mean cross-entropy. */
  forward(ids: Tensor, options?: { targets?: IndexLike; cache?: DecodingCache }): { logits: Tensor; loss?: Tensor };
  newCache(): DecodingCache;
}
