/**
 * `QuantizedEmbedding`: the token table of a quantised model, read from the packed (V, C) rows
 * of its tied LM head. GPT-2 and tied Llama project the logits on the token embedding, so once
 * the head is packed (Q8_0 / Q4_0 / Q4_G128) the same blocks serve the lookup and the float
 * (V, C) table can go: ~154 MB at GPT-2 124M f32, against ~41 MB for the Q8_0 head it shares.
 * This is what llama.cpp does with a quantised `token_embd.weight`.
 *
 * Inference only. The rows looked up are the dequantised rows (./qgather.ts, native or
 * TypeScript, equal to dequantizeMatrix's bit for bit), not the float rows the model was trained
 * with, and there is nothing to train: a forward with gradients on is refused (train the float
 * model, then quantise). `weight` dequantises the whole table on each read (V·C·4 bytes): it is
 * there for export (ONNX's Gather, a float GGUF) and inspection, never on the lookup path.
 *
 * Legend: V = vocabulary (rows), C = channels (row width).
 *
 * @example
 * const head = model.tied_lm_head as QuantizedLinear;
 * model.setSubmodule('transformer.wte', new QuantizedEmbedding(head.qweight));
 */
import { isGradEnabled } from '../tensor/autograd.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import { Module } from '../nn/module.ts';
import type { TokenTable } from '../nn/embedding.ts';
import { dequantizeMatrix, type QuantFormat, type QuantizedMatrix } from './formats.ts';
import { gatherQuantizedRows } from './qgather.ts';

export class QuantizedEmbedding extends Module implements TokenTable {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** The packed (V, C) rows; the tied head's very bytes (not a copy). Not a Parameter. */
  readonly qweight: QuantizedMatrix;

  constructor(qweight: QuantizedMatrix) {
    super();
    this.qweight = qweight;
    this.numEmbeddings = qweight.rows;
    this.embeddingDim = qweight.cols;
  }

  get format(): QuantFormat {
    return this.qweight.format;
  }

  /** The whole (V, C) table dequantised, built anew on each read (export and inspection only). */
  get weight(): Tensor {
    return new Tensor(dequantizeMatrix(this.qweight), [this.numEmbeddings, this.embeddingDim]);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}, format=${this.format}`;
  }

  /** ids of any shape (integers in [0, V)) → ids.shape + [C], the dequantised rows. */
  forward(ids: IndexLike): Tensor {
    if (isGradEnabled()) {
      throw new QkvValueError(`QuantizedEmbedding: a ${this.format} model is inference-only (its token table is the packed tied head, with no float copy to train); run it inside noGrad(), or train the float model and quantise after`);
    }
    const raw: ArrayLike<number> = ids instanceof Tensor ? ids.contiguousData() : ids;
    const flat = new Int32Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      if (!Number.isInteger(raw[i])) throw new QkvValueError(`QuantizedEmbedding: id ${raw[i]} at position ${i} is not an integer`);
      if (raw[i] < 0 || raw[i] >= this.numEmbeddings) throw new QkvValueError(`QuantizedEmbedding: id ${raw[i]} at position ${i} is out of range for a vocabulary of V=${this.numEmbeddings}`);
      flat[i] = raw[i];
    }
    const shape = ids instanceof Tensor ? [...ids.shape] : [raw.length];
    const rows = gatherQuantizedRows(this.qweight, flat); // (I, C), range-checked there
    return new Tensor(rows, [...shape, this.embeddingDim]);
  }
}
