/**
 * Generating text from a causal language model: the model side of `generateStream`.
 *
 * With the KV cache (default) the prompt is run once and each new token costs one position;
 * without it every step recomputes the whole sequence (the baseline the cache is measured
 * against). When the sequence outgrows the model's context length, the cached path drops the
 * oldest half of the context and rebuilds the cache once from the newer half, then goes on
 * incrementally: rebuilding from `contextLength − 1` tokens at every step (nanoGPT's cropping,
 * what the uncached path does) would make every token past the context cost a full forward.
 */
import type { CausalLM, DecodingCache } from '../models/causal-lm.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { noGrad } from '../tensor/autograd.ts';
import { inferenceScope, type HeldStorage } from '../tensor/buffer-pool.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { GenerationConfig } from './config.ts';
import { generate, generateStream, type GeneratedPiece, type GenerationResult } from './stream.ts';

export interface TextGenerationOptions {
  model: CausalLM;
  tokenizer: Tokenizer;
  prompt: string;
  config?: GenerationConfig;
  /** Reuse past keys/values (default true). */
  useCache?: boolean;
  rng?: Rng;
}

/** Logits (V) of the last position of `ids` (1, T). */
function lastLogits(model: CausalLM, ids: readonly number[], cache?: DecodingCache): Float32Array {
  const input = Tensor.from(ids, [1, ids.length]);
  const { logits } = model.forward(input, cache ? { cache } : {}); // (1, T, V)
  const V = logits.shape[2];
  const data = logits.contiguousData();
  return Float32Array.from(data.subarray((ids.length - 1) * V, ids.length * V));
}

/**
 * Every tensor storage and float array reachable from a decoding cache (a model's own kind:
 * GPT's per-layer keys/values, or anything else), which must outlive the step that grew it.
 */
export function cacheStorages(cache: unknown): HeldStorage[] {
  const found: HeldStorage[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    if (value instanceof Tensor) {
      found.push(value);
      return;
    }
    if (value instanceof Float32Array || value instanceof Float64Array) {
      found.push(value);
      return;
    }
    if (ArrayBuffer.isView(value)) return;
    if (value instanceof Map) for (const entry of value.values()) visit(entry);
    else for (const entry of Object.values(value)) visit(entry);
  };
  visit(cache);
  return found;
}

/**
 * A `step` function for `generateStream`: next-token logits given all ids so far, with or
 * without a KV cache. Each step runs in an `inferenceScope` (unless `reuseBuffers` is false):
 * its intermediate buffers go back to the pool for the next step, all but the cache's; the
 * logits returned are a copy, so nothing else escapes.
 */
export function modelStep(model: CausalLM, useCache = true, reuseBuffers = true): (ids: readonly number[]) => Float32Array {
  const context = model.contextLength;
  let cache: DecodingCache | null = null;
  let cachedIds = 0;
  const run = <T>(step: () => T): T => (reuseBuffers ? inferenceScope(step, () => (cache === null ? [] : cacheStorages(cache))) : noGrad(step));
  return (ids) =>
    run(() => {
      if (!useCache) return lastLogits(model, ids.slice(-context));
      const overflow = cache !== null && cache.length + (ids.length - cachedIds) > context;
      if (cache === null || cachedIds > ids.length || overflow) {
        const keep = overflow ? Math.max(1, Math.floor(context / 2)) : context;
        const window = ids.slice(-keep);
        cache = model.newCache();
        cachedIds = ids.length;
        return lastLogits(model, window, cache);
      }
      const fresh = ids.slice(cachedIds);
      cachedIds = ids.length;
      return lastLogits(model, fresh, cache!);
    });
}

function promptIds(tokenizer: Tokenizer, prompt: string): number[] {
  const ids = tokenizer.encodeIds(prompt);
  if (ids.length > 0) return ids;
  // An empty prompt starts from the end-of-text token, as GPT-2 does.
  const eos = tokenizer.tokenToId('<|endoftext|>');
  if (eos === undefined) throw new QkvValueError('generate: the prompt is empty and the tokenizer has no <|endoftext|> token to start from');
  return [eos];
}

/** Streams `{ tokenId, text }` pieces as they are produced; returns the full result at the end. */
export function streamText(options: TextGenerationOptions): AsyncGenerator<GeneratedPiece, GenerationResult, undefined> {
  const { model, tokenizer } = options;
  model.eval();
  return generateStream({
    step: modelStep(model, options.useCache ?? true),
    decode: (ids) => tokenizer.decode([...ids]),
    promptIds: promptIds(tokenizer, options.prompt),
    config: options.config,
    rng: options.rng,
  });
}

/** Generates to the end; `promptIds` are the prompt's token ids. */
export async function generateText(options: TextGenerationOptions): Promise<GenerationResult & { promptIds: number[] }> {
  const { model, tokenizer } = options;
  model.eval();
  const ids = promptIds(tokenizer, options.prompt);
  const result = await generate({
    step: modelStep(model, options.useCache ?? true),
    decode: (generated) => tokenizer.decode([...generated]),
    promptIds: ids,
    config: options.config,
    rng: options.rng,
  });
  return { ...result, promptIds: ids };
}
