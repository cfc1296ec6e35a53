/**
 * A bounded loopback load test: 64 concurrent streamed chats (16 tokens each) against one
 * server. It stops by itself; it checks 0 errors and that every stream ends with [DONE], and
 * prints peak RSS, time to first token (p50/p95) and tokens/s for the closing note.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningServer } from '../../src/serve/server.ts';
import { startTinyServer, trainTinyModel } from './fixtures.ts';

const CONCURRENT = 64;
const TOKENS = 16;
let server: RunningServer;
let logLines: string[];

before(async () => {
  ({ server, logLines } = await startTinyServer(trainTinyModel(20)));
});
after(() => server.close({ graceMs: 100 }));

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

test(`${CONCURRENT} concurrent streamed chats: 0 errors, every stream ends with [DONE]`, async () => {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: CONCURRENT }, async (_, i) => {
      const t0 = performance.now();
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'tiny-chat', messages: [{ role: 'user', content: `hi ${i}` }], stream: true, stream_options: { include_usage: true },
          max_tokens: TOKENS, temperature: 1, seed: i,
        }),
      });
      if (response.status !== 200) return { ok: false, ttftMs: NaN, tokens: 0, done: false };
      const reader = response.body!.getReader();
      let text = '';
      let ttftMs = NaN;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
        // time to first token: the first event whose delta carries text
        if (Number.isNaN(ttftMs) && /"delta":\{"content":"[^"]/.test(text)) ttftMs = performance.now() - t0;
      }
      const usage = /"completion_tokens":(\d+)/.exec(text);
      return { ok: !text.includes('"error"'), ttftMs, tokens: usage ? Number(usage[1]) : 0, done: text.endsWith('data: [DONE]\n\n') };
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const errors = results.filter((r) => !r.ok).length;
  const notDone = results.filter((r) => !r.done).length;
  const ttft = results.map((r) => r.ttftMs).sort((a, b) => a - b);
  const tokens = results.reduce((sum, r) => sum + r.tokens, 0);
  const load = (await import('node:os')).loadavg()[0];
  console.log(
    `load test: ${CONCURRENT} streams × ≤${TOKENS} tokens in ${seconds.toFixed(2)} s: ${errors} errors, ${notDone} without [DONE]; ` +
      `time to first token p50 ${percentile(ttft, 50).toFixed(0)} ms, p95 ${percentile(ttft, 95).toFixed(0)} ms; ` +
      `${(tokens / seconds).toFixed(0)} tokens/s overall; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB; load average ${load.toFixed(2)}`,
  );
  assert.equal(errors, 0);
  assert.equal(notDone, 0);
  assert.ok(tokens > CONCURRENT, `${tokens} tokens`);
  assert.equal(logLines.filter((l) => l.includes('stream done')).length, CONCURRENT, 'one log line per request');
  // Fairness: streams advance round-robin, so the slowest first token comes well before the last stream ends.
  assert.ok(percentile(ttft, 95) < seconds * 1000 * 0.9, `p95 TTFT ${percentile(ttft, 95)} ms of ${seconds * 1000} ms`);
});
