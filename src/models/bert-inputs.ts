/**
 * Texts (or sentence pairs) → the (B, T) tensors a BERT forward takes: input ids, token-type
 * ids and the attention mask, padded to the longest in the batch and truncated to the model's
 * positions, with the tokenizer's own post-processor adding [CLS] … [SEP] (… [SEP]).
 */
import { QkvValueError } from '../tensor/errors.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';

export interface BertBatch {
  /** (B, T) token ids. */
  ids: Tensor;
  /** (B, T) segment ids (0 for sentence A, 1 for B). */
  tokenTypeIds: Int32Array;
  /** (B, T) 1 for real tokens, 0 for padding. */
  attentionMask: Tensor;
}

/**
 * Encodes a batch for BERT. The tokenizer's truncation and padding settings are left as they were.
 *
 * @example const { ids, attentionMask, tokenTypeIds } = encodeBertBatch(tokenizer, ['a cat', 'the mat sat'], 128);
 */
export function encodeBertBatch(tokenizer: Tokenizer, inputs: ReadonlyArray<string | readonly [string, string]>, maxLength: number): BertBatch {
  if (inputs.length === 0) throw new QkvValueError('encodeBertBatch: no texts given');
  const padId = tokenizer.tokenToId('[PAD]') ?? 0;
  const saved = { truncation: tokenizer.truncation, padding: tokenizer.padding };
  let encodings;
  try {
    tokenizer.enableTruncation(maxLength);
    tokenizer.enablePadding({ padId, padToken: tokenizer.idToToken(padId) ?? '[PAD]' });
    encodings = tokenizer.encodeBatch(inputs);
  } finally {
    tokenizer.truncation = saved.truncation;
    tokenizer.padding = saved.padding;
  }
  const B = encodings.length;
  const T = encodings[0].ids.length;
  const ids = new Float32Array(B * T);
  const mask = new Float32Array(B * T);
  const typeIds = new Int32Array(B * T);
  encodings.forEach((encoding, b) => {
    ids.set(encoding.ids, b * T);
    mask.set(encoding.attentionMask, b * T);
    typeIds.set(encoding.typeIds, b * T);
  });
  return { ids: new Tensor(ids, [B, T]), tokenTypeIds: typeIds, attentionMask: new Tensor(mask, [B, T]) };
}
