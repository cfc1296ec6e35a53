/**
 * One log line per request, written when the request is over: for a stream that is when the
 * last chunk went out (or the client left), not when the headers did, so the line can say how
 * many tokens were sent and how it ended.
 *
 *   POST /v1/chat/completions 200 412ms model=tiny prompt_tokens=18 completion_tokens=40 stream done
 */
export class RequestLogEntry {
  readonly startMs = performance.now();
  model?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** Set by a streaming route: the middleware leaves the line to `finish`. */
  deferred = false;
  private written = false;

  constructor(
    private readonly method: string,
    private readonly path: string,
    private readonly write: (line: string) => void,
  ) {}

  /** Writes the line once; later calls do nothing. */
  finish(status: number, note?: string): void {
    if (this.written) return;
    this.written = true;
    const parts = [this.method, this.path, String(status), `${Math.round(performance.now() - this.startMs)}ms`];
    if (this.model !== undefined) parts.push(`model=${this.model}`);
    if (this.promptTokens !== undefined) parts.push(`prompt_tokens=${this.promptTokens}`);
    if (this.completionTokens !== undefined) parts.push(`completion_tokens=${this.completionTokens}`);
    if (note) parts.push(note);
    this.write(parts.join(' '));
  }
}
