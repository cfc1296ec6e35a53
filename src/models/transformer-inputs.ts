/**
 * Encoder–decoder inputs, shared by the Transformer and the GRU seq2seq: the decoder input made
 * from the labels (teacher forcing), padding masks, and rows repeated once per beam.
 *
 * Legend: B = batch, T = target positions.
 */
import { QkvShapeError, formatShape } from '../tensor/errors.ts';
import { mapUnary } from '../tensor/ops/broadcast.ts';
import { Tensor } from '../tensor/tensor.ts';

/**
 * Hugging Face's `shift_tokens_right` (BART, Marian, T5): the decoder input at step t is the label
 * of step t − 1, behind a start token, with −100 (ignored labels) replaced by the pad id.
 *
 * @example shiftTokensRight(Tensor.from([[5, 6, 2, -100]]), 0, 1) // [[1, 5, 6, 2]]
 */
export function shiftTokensRight(labels: Tensor, padTokenId: number, decoderStartTokenId: number): Tensor {
  if (labels.ndim !== 2) throw new QkvShapeError(`shiftTokensRight: labels must be (B,T), got ${formatShape(labels.shape)}`);
  const [B, T] = labels.shape;
  const source = labels.contiguousData();
  const out = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    out[b * T] = decoderStartTokenId;
    for (let t = 1; t < T; t++) {
      const label = source[b * T + t - 1];
      out[b * T + t] = label === -100 ? padTokenId : label;
    }
  }
  return new Tensor(out, [B, T]);
}

/** 1 where ids ≠ pad, else 0: (B, T) → (B, T). */
export function paddingMask(ids: Tensor, padTokenId: number): Tensor {
  return mapUnary(ids, (id) => (id === padTokenId ? 0 : 1));
}

/** Repeats each row of x (B, …) `times` times: rows b·times … b·times + times − 1 are row b. */
export function repeatRows(x: Tensor, times: number): Tensor {
  if (times === 1) return x;
  const rows = new Int32Array(x.shape[0] * times);
  for (let i = 0; i < rows.length; i++) rows[i] = Math.floor(i / times);
  return x.indexSelect(0, rows);
}
