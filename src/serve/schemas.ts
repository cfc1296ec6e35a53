/**
 * The request bodies the server accepts, as zod schemas under OpenAI's field names, and
 * `parseRequest`, which turns the first problem into a 400 naming the field
 * (`messages.0.role: Invalid option: expected one of "system"|"user"|"assistant"`).
 *
 * Unknown fields are ignored, as OpenAI's API does, so clients that send newer fields (`user`,
 * `stream_options`, `parallel_tool_calls`) still work. Fields that would change the answer but
 * that a small local model cannot honour (tools, response_format, suffix) are refused by name
 * rather than silently dropped.
 */
import { z } from 'zod';
import { ServeError } from './errors.ts';

/** OpenAI allows at most 4 stop sequences. */
const stopField = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish();

/** Sampling fields shared by completions and chat completions. */
const samplingFields = {
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  stop: stopField,
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  user: z.string().nullish(),
  tools: z.undefined({ error: 'tools are not supported by this server' }).optional(),
  response_format: z.undefined({ error: 'response_format is not supported by this server' }).optional(),
};

const textPart = z.object({ type: z.literal('text'), text: z.string() });

export const chatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(textPart), z.null()]),
  name: z.string().optional(),
});

export const chatCompletionRequestSchema = z.object({
  ...samplingFields,
  messages: z.array(chatMessageSchema).min(1),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
});

export const completionRequestSchema = z.object({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).min(1)]),
  max_tokens: z.number().int().min(0).nullish(),
  echo: z.boolean().nullish(),
  /** Completions' logprobs is a count of alternatives per position (0–5). */
  logprobs: z.number().int().min(0).max(5).nullish(),
  suffix: z.null({ error: 'suffix is not supported by this server' }).optional(),
});

export const embeddingRequestSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});

/** The qkv-specific request of the playground's attention view. */
export const attentionRequestSchema = z.object({
  /** The text to look at, or a conversation rendered with the chat template. */
  text: z.string().min(1).optional(),
  messages: z.array(chatMessageSchema).min(1).optional(),
  layer: z.number().int().min(0).optional(),
  head: z.number().int().min(0).optional(),
});

export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

/**
 * Validates `body` against `schema`; the first issue becomes a 400 whose `param` is the field's
 * dotted path.
 *
 * @example
 * parseRequest(chatCompletionRequestSchema, { model: 'm', messages: 'hi' }); // throws ServeError 400, param "messages"
 */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ServeError(400, 'the request body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue.path.map(String).join('.');
  throw new ServeError(400, `${param || 'body'}: ${issue.message}`, { param: param || null, code: 'invalid_value' });
}

/** A message's text: string content as is, text parts joined, null as ''. */
export function messageText(message: ChatMessage): string {
  if (message.content === null) return '';
  if (typeof message.content === 'string') return message.content;
  return message.content.map((part) => part.text).join('');
}
