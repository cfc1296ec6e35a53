/**
 * The HTTP application (hono): OpenAI's routes, the playground and its attention view, health,
 * and the rules every request goes through — an API key when one is set, a body size limit,
 * validation with OpenAI-shaped errors, one log line per request.
 *
 *   GET  /                      the playground page (self-contained)
 *   GET  /health                { status, model, in_flight, queued }; 503 while shutting down
 *   GET  /v1/models[/:id]       the served models
 *   POST /v1/completions        text completion (streamed with stream: true)
 *   POST /v1/chat/completions   chat completion (streamed with stream: true)
 *   POST /v1/embeddings         embeddings, when an embedding model is served
 *   POST /qkv/attention         { text } → the heatmaps of `src/lab` as SVG, for the playground
 *
 * @example
 * const app = createServeApp({ served: new ServedModel({ id: 'tiny', model, tokenizer }) });
 * const response = await app.fetch(new Request('http://localhost/health'));
 */
import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { collectAttentionMaps, isAttentionModel } from '../lab/attention-maps.ts';
import { renderAttentionSvg } from '../lab/heatmap-svg.ts';
import { DEFAULT_CHAT_TEMPLATE, renderChat } from '../adapt/chat-template.ts';
import { chatCompletion, textCompletion } from './completions.ts';
import { ServeError, toServeError } from './errors.ts';
import type { ServedModel } from './engine.ts';
import { createEmbeddings, type ServedEmbedder } from './embeddings.ts';
import { InFlight } from './in-flight.ts';
import { PLAYGROUND_HTML } from './playground-page.ts';
import { RequestLogEntry } from './request-log.ts';
import { attentionRequestSchema, chatCompletionRequestSchema, completionRequestSchema, embeddingRequestSchema, messageText, parseRequest } from './schemas.ts';

export interface ServeAppOptions {
  served: ServedModel;
  /** The model folder's chat template (undefined: the plain default). */
  chatTemplate?: string;
  embedder?: ServedEmbedder;
  /** When set, /v1/* and /qkv/* need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Largest request body; default 1 MiB. */
  maxBodyBytes?: number;
  /** Where the per-request lines go; default stderr. */
  log?: (line: string) => void;
  inFlight?: InFlight;
}

export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

type Env = { Variables: { log: RequestLogEntry } };

function errorResponse(error: ServeError): Response {
  return Response.json(error.toBody(), { status: error.status });
}

function keyMatches(header: string | undefined, apiKey: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? '');
  if (match === null) return false;
  const given = Buffer.from(match[1]);
  const expected = Buffer.from(apiKey);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new ServeError(400, 'the request body is not valid JSON', { code: 'invalid_json' });
  }
}

/** The hono app; `inFlight` is exposed so the server can drain it on shutdown. */
export function createServeApp(options: ServeAppOptions): Hono<Env> & { inFlight: InFlight } {
  const { served } = options;
  const inFlight = options.inFlight ?? new InFlight();
  const write = options.log ?? ((line: string) => console.error(line));
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const generation = { served, chatTemplate: options.chatTemplate, inFlight };
  const app = new Hono<Env>();

  app.use('*', async (c, next) => {
    const entry = new RequestLogEntry(c.req.method, c.req.path, write);
    c.set('log', entry);
    await next();
    if (!entry.deferred) entry.finish(c.res.status);
  });

  if (options.apiKey !== undefined) {
    const apiKey = options.apiKey;
    const guard = async (c: { req: { header(name: string): string | undefined } }, next: () => Promise<void>) => {
      if (!keyMatches(c.req.header('authorization'), apiKey)) {
        return errorResponse(new ServeError(401, 'Incorrect or missing API key; send "Authorization: Bearer <key>".', { code: 'invalid_api_key' }));
      }
      await next();
    };
    app.use('/v1/*', guard);
    app.use('/qkv/*', guard);
  }

  app.use(
    '*',
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => errorResponse(new ServeError(413, `the request body is larger than ${maxBodyBytes} bytes`, { code: 'request_too_large' })),
    }),
  );

  app.onError((error) => errorResponse(toServeError(error)));
  app.notFound((c) => errorResponse(new ServeError(404, `no route ${c.req.method} ${c.req.path}`, { code: 'unknown_url' })));

  app.get('/', (c) => c.html(PLAYGROUND_HTML));

  app.get('/health', (c) =>
    c.json(
      { status: inFlight.draining ? 'shutting_down' : 'ok', model: served.id, in_flight: inFlight.size, queued: served.queue.waiting },
      inFlight.draining ? 503 : 200,
    ),
  );

  const modelCards = () => [
    { id: served.id, object: 'model', created: served.created, owned_by: 'qkv' },
    ...(options.embedder ? [{ id: options.embedder.id, object: 'model', created: served.created, owned_by: 'qkv' }] : []),
  ];
  app.get('/v1/models', (c) => c.json({ object: 'list', data: modelCards() }));
  app.get('/v1/models/:id', (c) => {
    const card = modelCards().find((m) => m.id === c.req.param('id'));
    if (card === undefined) throw new ServeError(404, `The model '${c.req.param('id')}' does not exist`, { param: 'model', code: 'model_not_found' });
    return c.json(card);
  });

  app.post('/v1/chat/completions', async (c) => {
    const body = parseRequest(chatCompletionRequestSchema, await readJson(c.req.raw));
    return chatCompletion(generation, body, c.req.raw.signal, c.get('log'));
  });

  app.post('/v1/completions', async (c) => {
    const body = parseRequest(completionRequestSchema, await readJson(c.req.raw));
    return textCompletion(generation, body, c.req.raw.signal, c.get('log'));
  });

  app.post('/v1/embeddings', async (c) => {
    const body = parseRequest(embeddingRequestSchema, await readJson(c.req.raw));
    return createEmbeddings(options.embedder, body, c.get('log'));
  });

  app.post('/qkv/attention', async (c) => {
    const body = parseRequest(attentionRequestSchema, await readJson(c.req.raw));
    const { model, tokenizer } = served;
    if (!isAttentionModel(model)) throw new ServeError(400, `${served.id} does not expose its attention weights`);
    const full =
      body.text ??
      (body.messages ? renderChat(body.messages.map((m) => ({ role: m.role, content: messageText(m) })), options.chatTemplate ?? DEFAULT_CHAT_TEMPLATE) : undefined);
    if (full === undefined) throw new ServeError(400, 'give "text" or "messages"', { param: 'text' });
    // The last `contextLength` tokens: a long conversation still shows how the reply attends.
    const ids = tokenizer.encodeIds(full);
    const text = ids.length > served.contextLength ? tokenizer.decode(ids.slice(-served.contextLength)) : full;
    // One layer by default (the last, closest to the output): every head of every layer is a lot of cells.
    const layer = body.layer ?? Math.max(0, (model.attentionWeights().length || 1) - 1);
    const maps = await served.queue.run(() => collectAttentionMaps(model, tokenizer, text, { layer, head: body.head }), c.req.raw.signal);
    return c.json({ svg: renderAttentionSvg(maps, { title: 'Attention of the last reply' }), tokens: maps.labels, layer, num_layers: maps.numLayers, num_heads: maps.numHeads });
  });

  return Object.assign(app, { inFlight });
}
