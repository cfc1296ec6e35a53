/**
 * What the retrieval pipeline needs from an embedding model: a dimension and a function from
 * texts to vectors. The stores and the index are written against this interface only, so a
 * qkv BERT encoder, an OpenAI-compatible embeddings endpoint or a test's hashing embedder all
 * plug in the same way.
 *
 * @example
 *   const embedder: Embedder = { name: 'toy', dim: 2, embed: async (texts) => texts.map(() => new Float32Array([1, 0])) };
 *   const [vector] = await embedder.embed(['hello']);
 */
import { QkvShapeError } from '../tensor/errors.ts';

export interface Embedder {
  /** Written into the index, so a query is never embedded by another model than its chunks. */
  readonly name: string;
  /** Length of every vector `embed` returns. */
  readonly dim: number;
  /** One vector per text, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** Embeds `texts` in batches of `batchSize`, calling `onProgress(done, total)` after each. */
export async function embedInBatches(
  embedder: Embedder,
  texts: readonly string[],
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Float32Array[]> {
  const batchSize = options.batchSize ?? 32;
  const vectors: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize);
    const embedded = await embedder.embed(batch);
    if (embedded.length !== batch.length) {
      throw new QkvShapeError(`embedder ${embedder.name}: returned ${embedded.length} vectors for ${batch.length} texts`);
    }
    for (const vector of embedded) {
      if (vector.length !== embedder.dim) throw new QkvShapeError(`embedder ${embedder.name}: returned a vector of length ${vector.length}, expected dim ${embedder.dim}`);
      vectors.push(vector);
    }
    options.onProgress?.(Math.min(start + batchSize, texts.length), texts.length);
  }
  return vectors;
}

/** v / ‖v‖ (a copy); the zero vector stays zero. */
export function l2Normalize(vector: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
  norm = Math.sqrt(norm);
  const out = new Float32Array(vector.length);
  if (norm === 0) return out;
  for (let i = 0; i < vector.length; i++) out[i] = vector[i] / norm;
  return out;
}
