/**
 * The served model: one causal LM, its tokenizer and defaults, and the fair queue every
 * generation step goes through. The HTTP layer (routes) speaks OpenAI; this speaks qkv:
 * prompt ids in, pieces `{ tokenId, text, logprob }` out, through `generateStream`.
 *
 * OpenAI's sampling fields map onto `src/generate` as follows:
 *   temperature → temperature (0 = greedy), top_p → top_p, stop → stop strings, seed → the Rng,
 *   max_tokens → max_new_tokens; the eos id comes from the folder's generation_config.json.
 *   presence_penalty / frequency_penalty have no Hugging Face processor, so they are applied
 *   here, on the logits, before the sampler, with OpenAI's documented formula
 *   logit[j] −= count[j]·frequency_penalty + (count[j] > 0)·presence_penalty
 *   where count[j] is how often j was generated so far (the prompt is not counted).
 * Log-probabilities are those of the model's distribution after the penalties and before
 * temperature/top-p (what the model believes, not the sampling filter), from the same logits.
 *
 * Legend: V = vocabulary size.
 */
import { randomInt } from 'node:crypto';
import type { JsonObject } from '../io/config.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import { type GenerationConfig } from '../generate/config.ts';
import { modelStep } from '../generate/lm.ts';
import { logSoftmax } from '../generate/logits-processors.ts';
import { generateStream, type FinishReason } from '../generate/stream.ts';
import { Rng } from '../tensor/random.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { ServeError } from './errors.ts';
import { FairQueue } from './queue.ts';

/** What a request asks of the model, in OpenAI's terms after validation. */
export interface SamplingRequest {
  promptIds: number[];
  /** New tokens at most; the caller has checked it fits the context. */
  maxTokens: number;
  temperature?: number | null;
  topP?: number | null;
  stop?: string[];
  seed?: number | null;
  presencePenalty?: number | null;
  frequencyPenalty?: number | null;
  /** How many alternatives to report per token (0: only the chosen token's logprob). */
  topLogprobs?: number;
  /** Aborting it (client gone, server shutting down) ends the generation at the next step. */
  signal?: AbortSignal;
}

/** One generated token, as the routes send it. */
export interface ServedPiece {
  tokenId: number;
  text: string;
  /** log p(token) under the model (see the file comment). */
  logprob: number;
  /** The `topLogprobs` most likely tokens at this position, most likely first. */
  topLogprobs: { tokenId: number; logprob: number }[];
}

export interface ServedResult {
  finishReason: 'stop' | 'length';
  completionTokens: number;
}

export interface ServedModelOptions {
  /** The name clients put in `model` (default: the folder's name). */
  id: string;
  model: CausalLM;
  tokenizer: Tokenizer;
  /** The folder's generation_config.json (eos id). */
  generationConfig?: JsonObject;
  queue?: FairQueue;
}

/**
 * @example
 * const served = new ServedModel({ id: 'tiny', model, tokenizer });
 * for await (const piece of served.generate({ promptIds: served.encode('The '), maxTokens: 10 })) process.stdout.write(piece.text);
 */
export class ServedModel {
  readonly id: string;
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  readonly queue: FairQueue;
  readonly created = Math.floor(Date.now() / 1000);
  private readonly eosTokenIds: number[];
  /** Forward passes run so far, every request together: what a test watches to see a cancelled stream stop. */
  stepsRun = 0;

  constructor(options: ServedModelOptions) {
    this.id = options.id;
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.queue = options.queue ?? new FairQueue();
    const eos = options.generationConfig?.eos_token_id;
    this.eosTokenIds = typeof eos === 'number' ? [eos] : Array.isArray(eos) ? eos.filter((id): id is number => typeof id === 'number') : [];
    if (this.eosTokenIds.length === 0) {
      const endOfText = this.tokenizer.tokenToId('<|endoftext|>');
      if (endOfText !== undefined) this.eosTokenIds.push(endOfText);
    }
    this.model.eval();
  }

  get contextLength(): number {
    return this.model.contextLength;
  }

  /** Prompt text → ids; an empty prompt starts from the end-of-text token, as GPT-2 does. */
  encode(text: string): number[] {
    const ids = this.tokenizer.encodeIds(text);
    if (ids.length === 0 && this.eosTokenIds.length > 0) return [this.eosTokenIds[0]];
    return ids;
  }

  /** The text of one token, as logprobs report it. */
  tokenText(tokenId: number): string {
    return this.tokenizer.decode([tokenId]);
  }

  /**
   * Checks that `promptTokens + maxTokens` fits the context; a 400 naming the limit otherwise.
   * `maxTokens` undefined means "the rest of the context".
   */
  checkContext(promptTokens: number, maxTokens: number | undefined, promptField: string): number {
    const context = this.contextLength;
    if (promptTokens >= context) {
      throw new ServeError(400, `This model's maximum context length is ${context} tokens; the ${promptField} is ${promptTokens} tokens, leaving none to generate.`, {
        param: promptField,
        code: 'context_length_exceeded',
      });
    }
    if (maxTokens === undefined) return context - promptTokens;
    if (promptTokens + maxTokens > context) {
      throw new ServeError(
        400,
        `This model's maximum context length is ${context} tokens; you requested ${promptTokens + maxTokens} (${promptTokens} in the ${promptField}, ${maxTokens} for the completion). Reduce max_tokens to at most ${context - promptTokens}.`,
        { param: 'max_tokens', code: 'context_length_exceeded' },
      );
    }
    return maxTokens;
  }

  /**
   * Streams a completion of `request.promptIds`. Each step waits its turn in the queue; when the
   * signal aborts, the generator ends before the next forward pass (the return value is then
   * `null`: there is no finish reason for a reply nobody reads).
   */
  async *generate(request: SamplingRequest): AsyncGenerator<ServedPiece, ServedResult | null, undefined> {
    const step = modelStep(this.model, true);
    const promptLength = request.promptIds.length;
    const counts = new Map<number, number>();
    const frequency = request.frequencyPenalty ?? 0;
    const presence = request.presencePenalty ?? 0;
    const topCount = request.topLogprobs ?? 0;
    let lastLogits: Float32Array = new Float32Array(0);
    const signal = request.signal;

    const penalised = (ids: readonly number[]): Float32Array => {
      this.stepsRun++;
      const logits = step(ids); // (V)
      if (frequency !== 0 || presence !== 0) {
        counts.clear();
        for (let i = promptLength; i < ids.length; i++) counts.set(ids[i], (counts.get(ids[i]) ?? 0) + 1);
        for (const [id, count] of counts) logits[id] -= count * frequency + presence;
      }
      lastLogits = logits;
      return logits;
    };

    const temperature = request.temperature ?? 1; // OpenAI's default
    const config: GenerationConfig = {
      max_new_tokens: request.maxTokens,
      do_sample: temperature > 0,
      temperature: temperature > 0 ? temperature : 1,
      top_k: 0,
      top_p: request.topP ?? 1,
      stop: request.stop ?? [],
      eos_token_id: this.eosTokenIds,
    };
    // Without a seed each request draws its own, so concurrent requests do not share one stream of numbers.
    const rng = new Rng(request.seed ?? randomInt(0, 2 ** 31));
    const stream = generateStream({
      step: (ids) => this.queue.run(() => penalised(ids), signal),
      decode: (ids) => this.tokenizer.decode([...ids]),
      promptIds: request.promptIds,
      config,
      rng,
    });
    try {
      for (;;) {
        if (signal?.aborted) return null;
        let next: IteratorResult<{ tokenId: number; text: string }, { finishReason: FinishReason; ids: number[] }>;
        try {
          next = await stream.next();
        } catch (error) {
          if (signal?.aborted) return null; // the queue refused the turn: the client is gone
          throw error;
        }
        if (next.done) return { finishReason: next.value.finishReason === 'length' ? 'length' : 'stop', completionTokens: next.value.ids.length };
        const { tokenId, text } = next.value;
        const logProbs = logSoftmax(lastLogits);
        yield { tokenId, text, logprob: logProbs[tokenId], topLogprobs: topCount > 0 ? topEntries(logProbs, topCount) : [] };
      }
    } finally {
      await stream.return(undefined as never);
    }
  }
}

/** The `count` largest log-probabilities, largest first. */
function topEntries(logProbs: Float64Array, count: number): { tokenId: number; logprob: number }[] {
  const ids = Array.from(logProbs.keys()).sort((a, b) => logProbs[b] - logProbs[a]).slice(0, count);
  return ids.map((tokenId) => ({ tokenId, logprob: logProbs[tokenId] }));
}
