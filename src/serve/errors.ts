/**
 * Errors the server answers with, in OpenAI's shape, so every OpenAI client reports them the way
 * it reports OpenAI's own:
 *
 *   { "error": { "message": "...", "type": "invalid_request_error", "param": "messages", "code": null } }
 *
 * `param` names the request field at fault (dotted path, e.g. `messages.0.role`), so the caller
 * knows what to fix without reading the server's log.
 */
import { QkvError } from '../tensor/errors.ts';

/** OpenAI's error `type` values the server uses. */
export type OpenAIErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'server_error';

/** The body of an error response. */
export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null };
}

/**
 * An error that becomes an HTTP response: status, OpenAI type, the field at fault and a code.
 *
 * @example
 * throw new ServeError(400, 'max_tokens must be <= 96', { param: 'max_tokens', code: 'context_length_exceeded' });
 */
export class ServeError extends QkvError {
  readonly status: 400 | 401 | 404 | 413 | 500 | 503;
  readonly type: OpenAIErrorType;
  readonly param: string | null;
  readonly code: string | null;

  constructor(
    status: ServeError['status'],
    message: string,
    options: { type?: OpenAIErrorType; param?: string | null; code?: string | null } = {},
  ) {
    super(message);
    this.status = status;
    this.type = options.type ?? defaultType(status);
    this.param = options.param ?? null;
    this.code = options.code ?? null;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): OpenAIErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/**
 * Any thrown value as a `ServeError`: qkv's own errors on bad input are the client's fault (400),
 * anything else is the server's (500, with a generic message so internals do not leak).
 */
export function toServeError(error: unknown): ServeError {
  if (error instanceof ServeError) return error;
  if (error instanceof QkvError) return new ServeError(400, error.message);
  return new ServeError(500, 'internal server error', { type: 'server_error' });
}
