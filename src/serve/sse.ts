/**
 * Server-sent events in OpenAI's streaming format: each chunk is `data: <json>\n\n`, and the
 * stream ends with `data: [DONE]\n\n`. The response body pulls chunks from an async generator,
 * so generation runs at most one chunk ahead of what the client has read, and when the client
 * goes away (the body is cancelled) `onCancel` runs and the generator is closed: no step of the
 * model runs for a reader that is gone.
 */

const encoder = new TextEncoder();

/** `data: …\n\n` for one JSON chunk. */
export function sseData(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
}

export const SSE_DONE = encoder.encode('data: [DONE]\n\n');

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
} as const;

/**
 * A streamed response of `chunks` (each sent as one `data:` event), then `[DONE]`.
 *
 * @example
 * return sseResponse(chunksOf(request), () => controller.abort());
 */
export function sseResponse(chunks: AsyncGenerator<unknown, void, undefined>, onCancel: () => void): Response {
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) {
        controller.enqueue(SSE_DONE);
        controller.close();
      } else {
        controller.enqueue(sseData(next.value));
      }
    },
    async cancel() {
      onCancel();
      await chunks.return(undefined);
    },
  });
  return new Response(body, { status: 200, headers: SSE_HEADERS });
}
