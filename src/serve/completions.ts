/**
 * POST /v1/completions and POST /v1/chat/completions: OpenAI's request and response shapes over
 * `ServedModel.generate`. Both stream (`stream: true`) as server-sent events in OpenAI's chunk
 * format, or answer with one JSON object; both report `usage`, and `logprobs` when asked.
 *
 * Chat prompts are the folder's chat template rendered with `add_generation_prompt`; under the
 * plain default template a reply also stops where the next turn would begin ("\nUser:").
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_CHAT_STOP, DEFAULT_CHAT_TEMPLATE, renderChat } from '../adapt/chat-template.ts';
import { ServeError } from './errors.ts';
import type { ServedModel, ServedPiece, SamplingRequest } from './engine.ts';
import type { InFlight } from './in-flight.ts';
import type { RequestLogEntry } from './request-log.ts';
import { messageText, type ChatCompletionRequest, type CompletionRequest } from './schemas.ts';
import { sseResponse } from './sse.ts';

export interface GenerationContext {
  served: ServedModel;
  /** The folder's chat template; undefined: the plain default. */
  chatTemplate?: string;
  inFlight: InFlight;
}

interface Choice {
  index: number;
  request: SamplingRequest;
  /** Text put before the generated text (completions' `echo`). */
  prefix: string;
}

interface CollectedChoice {
  index: number;
  text: string;
  pieces: ServedPiece[];
  finishReason: 'stop' | 'length';
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function checkModel(served: ServedModel, model: string): void {
  if (model !== served.id) {
    throw new ServeError(404, `The model '${model}' does not exist; this server serves '${served.id}'.`, { param: 'model', code: 'model_not_found' });
  }
}

function stopList(stop: string | string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  return typeof stop === 'string' ? [stop] : stop;
}

/** Runs one choice to the end. */
async function collect(served: ServedModel, choice: Choice): Promise<CollectedChoice | null> {
  const pieces: ServedPiece[] = [];
  const stream = served.generate(choice.request);
  for (;;) {
    const next = await stream.next();
    if (next.done) {
      if (next.value === null) return null;
      return { index: choice.index, text: choice.prefix + pieces.map((p) => p.text).join(''), pieces, finishReason: next.value.finishReason };
    }
    pieces.push(next.value);
  }
}

/** The shared path: choices in, a JSON body or an SSE response out. */
async function respond(
  ctx: GenerationContext,
  choices: Choice[],
  stream: boolean,
  controller: AbortController,
  log: RequestLogEntry,
  shape: ResponseShape,
): Promise<Response> {
  const { served, inFlight } = ctx;
  const id = `${shape.idPrefix}-${randomUUID().replaceAll('-', '')}`;
  const created = nowSeconds();
  const promptTokens = log.promptTokens ?? 0;
  if (!stream) {
    try {
      const results: CollectedChoice[] = [];
      for (const choice of choices) {
        const result = await collect(served, choice);
        if (result === null) throw new ServeError(503, 'the request was cancelled before it finished', { type: 'server_error' });
        results.push(result);
      }
      const completionTokens = results.reduce((sum, r) => sum + r.pieces.length, 0);
      log.completionTokens = completionTokens;
      return Response.json({
        id,
        object: shape.object,
        created,
        model: served.id,
        choices: results.map((r) => shape.choice(r)),
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      });
    } finally {
      inFlight.close(controller);
    }
  }

  log.deferred = true;
  let completionTokens = 0;
  let cancelled = false;
  async function* chunks(): AsyncGenerator<unknown, void, undefined> {
    try {
      for (const choice of choices) {
        const first = shape.firstChunk(choice);
        if (first !== null) yield { id, object: shape.chunkObject, created, model: served.id, choices: [first] };
        const generation = served.generate(choice.request);
        for (;;) {
          const next = await generation.next();
          if (next.done) {
            if (next.value === null) {
              cancelled = true;
              if (inFlight.draining) yield new ServeError(503, 'the server is shutting down; the reply was cut short', { type: 'server_error', code: 'server_shutdown' }).toBody();
              return;
            }
            yield { id, object: shape.chunkObject, created, model: served.id, choices: [shape.lastChunk(choice, next.value.finishReason)] };
            break;
          }
          completionTokens++;
          const delta = shape.pieceChunk(choice, next.value);
          if (delta !== null) yield { id, object: shape.chunkObject, created, model: served.id, choices: [delta] };
        }
      }
      if (shape.includeUsage) {
        yield {
          id, object: shape.chunkObject, created, model: served.id, choices: [],
          usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        };
      }
    } catch (error) {
      cancelled = true;
      const serveError = error instanceof ServeError ? error : new ServeError(500, 'generation failed', { type: 'server_error' });
      yield serveError.toBody();
    } finally {
      inFlight.close(controller);
      log.completionTokens = completionTokens;
      log.finish(200, `stream ${controller.signal.aborted ? 'cancelled' : cancelled ? 'error' : 'done'}`);
    }
  }
  return sseResponse(chunks(), () => controller.abort(new Error('client disconnected')));
}

/** How the two endpoints dress the same choices. */
interface ResponseShape {
  idPrefix: string;
  object: string;
  chunkObject: string;
  includeUsage: boolean;
  choice(result: CollectedChoice): unknown;
  firstChunk(choice: Choice): unknown | null;
  pieceChunk(choice: Choice, piece: ServedPiece): unknown | null;
  lastChunk(choice: Choice, finishReason: 'stop' | 'length'): unknown;
}

/** OpenAI chat logprobs: `{ content: [{ token, logprob, bytes, top_logprobs }] }`. */
function chatLogprobs(served: ServedModel, pieces: ServedPiece[]) {
  const entry = (tokenId: number, logprob: number) => {
    const token = served.tokenText(tokenId);
    return { token, logprob, bytes: [...Buffer.from(token, 'utf8')] };
  };
  return {
    content: pieces.map((p) => ({ ...entry(p.tokenId, p.logprob), top_logprobs: p.topLogprobs.map((t) => entry(t.tokenId, t.logprob)) })),
  };
}

/** Legacy completions logprobs: parallel lists, `top_logprobs` as token → logprob maps. */
function completionLogprobs(served: ServedModel, pieces: ServedPiece[], startOffset: number) {
  let offset = startOffset;
  const textOffset: number[] = [];
  for (const p of pieces) {
    textOffset.push(offset);
    offset += p.text.length;
  }
  return {
    tokens: pieces.map((p) => served.tokenText(p.tokenId)),
    token_logprobs: pieces.map((p) => p.logprob),
    top_logprobs: pieces.map((p) => Object.fromEntries(p.topLogprobs.map((t) => [served.tokenText(t.tokenId), t.logprob]))),
    text_offset: textOffset,
  };
}

/** Seed of choice i: the request's seed + i, so n > 1 gives different but reproducible choices. */
const choiceSeed = (seed: number | null | undefined, i: number) => (seed === null || seed === undefined ? null : seed + i);

/** POST /v1/chat/completions. */
export async function chatCompletion(ctx: GenerationContext, body: ChatCompletionRequest, clientSignal: AbortSignal, log: RequestLogEntry): Promise<Response> {
  const { served } = ctx;
  checkModel(served, body.model);
  log.model = served.id;
  const eosText = served.tokenizer.idToToken(served.tokenizer.tokenToId('<|endoftext|>') ?? -1) ?? '';
  const prompt = renderChat(
    body.messages.map((m) => ({ role: m.role, content: messageText(m) })),
    ctx.chatTemplate ?? DEFAULT_CHAT_TEMPLATE,
    { addGenerationPrompt: true, eosToken: eosText },
  );
  const promptIds = served.encode(prompt);
  log.promptTokens = promptIds.length;
  const maxTokens = served.checkContext(promptIds.length, body.max_completion_tokens ?? body.max_tokens ?? undefined, 'messages');
  const stop = [...stopList(body.stop), ...(ctx.chatTemplate === undefined ? DEFAULT_CHAT_STOP : [])];
  if (ctx.inFlight.draining) throw new ServeError(503, 'the server is shutting down', { type: 'server_error' });
  const controller = ctx.inFlight.open(clientSignal);
  const wantLogprobs = body.logprobs === true;
  const choices: Choice[] = Array.from({ length: body.n ?? 1 }, (_, i) => ({
    index: i,
    prefix: '',
    request: {
      promptIds, maxTokens, stop, temperature: body.temperature, topP: body.top_p, seed: choiceSeed(body.seed, i),
      presencePenalty: body.presence_penalty, frequencyPenalty: body.frequency_penalty,
      topLogprobs: wantLogprobs ? (body.top_logprobs ?? 0) : 0, signal: controller.signal,
    },
  }));
  return respond(ctx, choices, body.stream === true, controller, log, {
    idPrefix: 'chatcmpl',
    object: 'chat.completion',
    chunkObject: 'chat.completion.chunk',
    includeUsage: body.stream_options?.include_usage === true,
    choice: (r) => ({
      index: r.index,
      message: { role: 'assistant', content: r.text, refusal: null },
      logprobs: wantLogprobs ? chatLogprobs(served, r.pieces) : null,
      finish_reason: r.finishReason,
    }),
    firstChunk: (choice) => ({ index: choice.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }),
    pieceChunk: (choice, piece) =>
      piece.text === '' && !wantLogprobs
        ? null
        : { index: choice.index, delta: { content: piece.text }, logprobs: wantLogprobs ? chatLogprobs(served, [piece]) : null, finish_reason: null },
    lastChunk: (choice, finishReason) => ({ index: choice.index, delta: {}, logprobs: null, finish_reason: finishReason }),
  });
}

/** POST /v1/completions. */
export async function textCompletion(ctx: GenerationContext, body: CompletionRequest, clientSignal: AbortSignal, log: RequestLogEntry): Promise<Response> {
  const { served } = ctx;
  checkModel(served, body.model);
  log.model = served.id;
  const prompts = typeof body.prompt === 'string' ? [body.prompt] : body.prompt;
  const n = body.n ?? 1;
  const encoded = prompts.map((prompt, p) => {
    const ids = served.encode(prompt);
    // OpenAI's default max_tokens for completions is 16.
    const maxTokens = served.checkContext(ids.length, body.max_tokens ?? 16, prompts.length === 1 ? 'prompt' : `prompt.${p}`);
    return { prompt, ids, maxTokens };
  });
  log.promptTokens = encoded.reduce((sum, e) => sum + e.ids.length, 0);
  if (ctx.inFlight.draining) throw new ServeError(503, 'the server is shutting down', { type: 'server_error' });
  const controller = ctx.inFlight.open(clientSignal);
  const topCount = body.logprobs ?? null;
  const choices: Choice[] = encoded.flatMap((e, p) =>
    Array.from({ length: n }, (_, i) => ({
      index: p * n + i,
      prefix: body.echo ? e.prompt : '',
      request: {
        promptIds: e.ids, maxTokens: e.maxTokens, stop: stopList(body.stop), temperature: body.temperature, topP: body.top_p,
        seed: choiceSeed(body.seed, i), presencePenalty: body.presence_penalty, frequencyPenalty: body.frequency_penalty,
        topLogprobs: topCount ?? 0, signal: controller.signal,
      },
    })),
  );
  // Streamed logprobs carry each token's offset in the choice's text so far.
  const streamedLength = new Map<number, number>();
  const streamOffset = (choice: Choice, piece: ServedPiece): number => {
    const offset = streamedLength.get(choice.index) ?? choice.prefix.length;
    streamedLength.set(choice.index, offset + piece.text.length);
    return offset;
  };
  return respond(ctx, choices, body.stream === true, controller, log, {
    idPrefix: 'cmpl',
    object: 'text_completion',
    chunkObject: 'text_completion',
    includeUsage: body.stream_options?.include_usage === true,
    choice: (r) => ({
      index: r.index,
      text: r.text,
      logprobs: topCount === null ? null : completionLogprobs(served, r.pieces, r.text.length - r.pieces.reduce((s, p) => s + p.text.length, 0)),
      finish_reason: r.finishReason,
    }),
    firstChunk: (choice) => (choice.prefix === '' ? null : { index: choice.index, text: choice.prefix, logprobs: null, finish_reason: null }),
    pieceChunk: (choice, piece) =>
      piece.text === '' && topCount === null
        ? null
        : { index: choice.index, text: piece.text, logprobs: topCount === null ? null : completionLogprobs(served, [piece], streamOffset(choice, piece)), finish_reason: null },
    lastChunk: (choice, finishReason) => ({ index: choice.index, text: '', logprobs: null, finish_reason: finishReason }),
  });
}
