/** Serving: an OpenAI-compatible HTTP server (hono) with a web playground. */
export { createServeApp, DEFAULT_MAX_BODY_BYTES, type ServeAppOptions } from './app.ts';
export { startServer, DEFAULT_HOST, DEFAULT_PORT, type RunningServer, type StartServerOptions } from './server.ts';
export { ServedModel, type ServedModelOptions, type SamplingRequest, type ServedPiece } from './engine.ts';
export { loadServedModel, loadServedEmbedder, modelIdOf } from './load.ts';
export { FairQueue, QueueAbortedError } from './queue.ts';
export { ServeError, type OpenAIErrorBody } from './errors.ts';
export type { ServedEmbedder } from './embeddings.ts';
