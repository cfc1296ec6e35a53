/**
 * `Embedding`: a lookup table of `numEmbeddings` vectors of size `embeddingDim`, PyTorch's
 * `nn.Embedding`. The gradient of the table is scatter-added from the rows that were looked up.
 * Initialised N(0, 1) as in PyTorch (GPT-2 re-initialises with std 0.02).
 *
 * @example
 * const wte = new Embedding(50257, 768);
 * const tokens = wte.forward(ids); // ids (B, T) → (B, T, 768)
 */
import { QkvValueError } from '../tensor/errors.ts';
import { embedding } from '../tensor/ops/indexing.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type DType, type IndexLike } from '../tensor/tensor.ts';
import { normal_ } from './init.ts';
import { Module } from './module.ts';
import { Parameter } from './parameter.ts';

export interface EmbeddingOptions {
  rng?: Rng;
  dtype?: DType;
}

/**
 * What a language model needs of its token table: the lookup, and the (V, C) values as a float
 * tensor (for export, or a float tied head). `Embedding` is the trainable one; a quantised model's
 * packed table (src/compress/quantized-embedding.ts) dequantises the rows it looks up and keeps no
 * float copy, its `weight` built on demand.
 */
export interface TokenTable extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** (numEmbeddings, embeddingDim). */
  readonly weight: Tensor;
  /** ids of any shape → ids.shape + [embeddingDim]. */
  forward(ids: IndexLike): Tensor;
}

export class Embedding extends Module implements TokenTable {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** (numEmbeddings, embeddingDim). */
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    for (const [name, value] of [['numEmbeddings', numEmbeddings], ['embeddingDim', embeddingDim]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new QkvValueError(`Embedding: ${name} must be a positive integer, got ${value}`);
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.weight = new Parameter(Tensor.zeros([numEmbeddings, embeddingDim], { dtype: options.dtype ?? 'float32' }));
    normal_(this.weight, 0, 1, options.rng ?? defaultRng);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }

  /** ids of any shape (integer values in [0, numEmbeddings)) → ids.shape + [embeddingDim]. */
  forward(ids: IndexLike): Tensor {
    return embedding(this.weight, ids);
  }
}
