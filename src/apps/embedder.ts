/**
 * What turns texts into vectors, for the router chain and the server's /v1/embeddings: a local
 * BERT-style encoder, an OpenAI-compatible endpoint, or a stub in a test all fit.
 */

export interface Embedder {
  /** One vector per text, all of the same length. */
  embed(texts: readonly string[]): Promise<number[][]> | number[][];
  /** Tokens in `text` as the embedder counts them (for usage and length limits). */
  countTokens?(text: string): number;
  /** Longest input in tokens, when the embedder has a limit. */
  readonly maxTokens?: number;
}

/**
 * Cosine similarity of two vectors of the same length; 0 when either is all zeros.
 *
 * @example
 * cosineSimilarity([1, 0], [1, 1]) // 0.7071…
 */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`cosineSimilarity: vectors of length ${a.length} and ${b.length}`);
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/**
 * An OpenAI-compatible embeddings endpoint (`qkv serve --embed-model`, OpenAI) as an `Embedder`.
 *
 * @example
 * const embedder = new OpenAIEmbedder({ client: new OpenAI({ baseURL, apiKey }), model: 'tiny-bert' });
 */
export class OpenAIEmbedder implements Embedder {
  constructor(private readonly options: { client: import('openai').default; model: string }) {}

  async embed(texts: readonly string[]): Promise<number[][]> {
    const response = await this.options.client.embeddings.create({ model: this.options.model, input: [...texts], encoding_format: 'float' });
    return response.data.sort((a, b) => a.index - b.index).map((d) => d.embedding);
  }
}
