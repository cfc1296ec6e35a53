/**
 * Sentence embeddings from any BERT: the last hidden states averaged over the real tokens
 * (attention mask 1, so padding never counts) and L2-normalised, so a dot product is the cosine.
 * This is what sentence-transformers' mean-pooling models do; retrieval and `/v1/embeddings` use it.
 */
import { noGrad } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { meanPool } from './bert.ts';
import { bertBody, type AnyBert } from './bert-heads.ts';
import { encodeBertBatch } from './bert-inputs.ts';

export interface EmbedOptions {
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** Tokens per text, [CLS] and [SEP] included (default: the model's max_position_embeddings). */
  maxLength?: number;
  /** L2-normalise each vector (default true). */
  normalize?: boolean;
}

/**
 * One vector of hidden_size numbers per text, in order.
 *
 * @example
 * const [a, b] = embedTexts(model, tokenizer, ['a cat sat', 'a cat sat on the mat']);
 * const cosine = a.reduce((sum, x, i) => sum + x * b[i], 0);
 */
export function embedTexts(model: AnyBert, tokenizer: Tokenizer, texts: readonly string[], options: EmbedOptions = {}): Float32Array[] {
  const body = bertBody(model);
  const batchSize = options.batchSize ?? 32;
  const maxLength = options.maxLength ?? body.config.max_position_embeddings;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new QkvValueError(`embedTexts: batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > body.config.max_position_embeddings) {
    throw new QkvValueError(`embedTexts: maxLength must be an integer in [2, ${body.config.max_position_embeddings}] (max_position_embeddings), got ${maxLength}`);
  }
  const wasTraining = body.training;
  body.eval();
  const out: Float32Array[] = [];
  try {
    noGrad(() => {
      for (let start = 0; start < texts.length; start += batchSize) {
        const batch = encodeBertBatch(tokenizer, texts.slice(start, start + batchSize), maxLength);
        const hidden = body.forward(batch.ids, { tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask }).lastHiddenState; // (B, T, C)
        const pooled = meanPool(hidden, batch.attentionMask); // (B, C)
        const [B, C] = pooled.shape;
        const values = pooled.contiguousData();
        for (let b = 0; b < B; b++) {
          const vector = Float32Array.from(values.subarray(b * C, (b + 1) * C));
          if (options.normalize ?? true) {
            let norm = 0;
            for (const x of vector) norm += x * x;
            norm = Math.sqrt(norm);
            if (norm > 0) for (let i = 0; i < C; i++) vector[i] /= norm;
          }
          out.push(vector);
        }
      }
    });
  } finally {
    if (wasTraining) body.train();
  }
  return out;
}
