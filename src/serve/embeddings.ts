/**
 * POST /v1/embeddings: OpenAI's shape over any `Embedder` (a BERT folder from `--embed-model`).
 * `encoding_format: "base64"` (what the `openai` client asks for by default) is the float32
 * little-endian bytes of each vector in base64, as OpenAI sends it.
 */
import type { Embedder } from '../apps/embedder.ts';
import { ServeError } from './errors.ts';
import type { RequestLogEntry } from './request-log.ts';
import type { EmbeddingRequest } from './schemas.ts';

export interface ServedEmbedder {
  id: string;
  embedder: Embedder;
}

function base64OfFloat32(vector: readonly number[]): string {
  const bytes = Buffer.from(Float32Array.from(vector).buffer); // little-endian on every platform Node runs on
  return bytes.toString('base64');
}

export async function createEmbeddings(served: ServedEmbedder | undefined, body: EmbeddingRequest, log: RequestLogEntry): Promise<Response> {
  if (served === undefined) {
    throw new ServeError(404, `The model '${body.model}' does not exist; this server has no embedding model (start it with --embed-model DIR).`, { param: 'model', code: 'model_not_found' });
  }
  if (body.model !== served.id) {
    throw new ServeError(404, `The model '${body.model}' does not exist; the embedding model is '${served.id}'.`, { param: 'model', code: 'model_not_found' });
  }
  log.model = served.id;
  const inputs = typeof body.input === 'string' ? [body.input] : body.input;
  const { embedder } = served;
  const counts = inputs.map((text) => embedder.countTokens?.(text) ?? 0);
  if (embedder.maxTokens !== undefined) {
    const index = counts.findIndex((count) => count > embedder.maxTokens!);
    if (index >= 0) {
      throw new ServeError(400, `input ${index} is ${counts[index]} tokens; this embedding model takes at most ${embedder.maxTokens}.`, {
        param: typeof body.input === 'string' ? 'input' : `input.${index}`,
        code: 'context_length_exceeded',
      });
    }
  }
  const vectors = await embedder.embed(inputs);
  if (body.dimensions !== undefined && body.dimensions !== null && body.dimensions !== vectors[0]?.length) {
    throw new ServeError(400, `dimensions: this model's embeddings have ${vectors[0]?.length} dimensions, got ${body.dimensions}`, { param: 'dimensions' });
  }
  const promptTokens = counts.reduce((sum, c) => sum + c, 0);
  log.promptTokens = promptTokens;
  return Response.json({
    object: 'list',
    data: vectors.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: body.encoding_format === 'base64' ? base64OfFloat32(vector) : vector,
    })),
    model: served.id,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  });
}
