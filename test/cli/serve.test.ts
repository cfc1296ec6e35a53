/**
 * `qkv serve` and `qkv chat` as real processes: serve says where it listens, answers, and on
 * SIGTERM ends an in-flight stream (finished or with an error event, then [DONE]) and exits 0;
 * chat streams replies to lines on stdin and saves its memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { tinyModelFolder } from '../serve/fixtures.ts';

const folder = tinyModelFolder(30);
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

function qkv(args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

test('qkv serve: prints where it listens (127.0.0.1), serves, and shuts down cleanly on SIGTERM mid-stream', async () => {
  const child = qkv(['serve', '--model', folder.dir, '--port', '0', '--grace-ms', '0', '--json']);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [firstLine] = (await once(child.stdout, 'data')) as [Buffer];
  const where = JSON.parse(firstLine.toString().split('\n')[0]);
  assert.match(where.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(where.model, 'tiny-chat');

  const health = (await (await fetch(`${where.url}/health`)).json()) as { status: string };
  assert.equal(health.status, 'ok');
  const response = await fetch(`${where.openai_base_url}/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-chat', prompt: 'User: hi\nAssistant:', max_tokens: 70, stream: true }),
  });
  const reader = response.body!.getReader();
  await reader.read(); // the stream is under way
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  let rest = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += Buffer.from(value).toString();
  }
  assert.ok(rest.endsWith('data: [DONE]\n\n'), rest.slice(-200));
  assert.ok(/"finish_reason":"(length|stop)"/.test(rest) || rest.includes('"code":"server_shutdown"'), 'finished, or ended with an error event');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.match(stderr, /SIGTERM: shutting down/);
  assert.match(stderr, /POST \/v1\/completions 200 \d+ms model=tiny-chat/);
});

test('qkv chat: replies to each stdin line, streamed, and saves the window memory as JSON', async () => {
  const memoryPath = join(folder.dir, '..', 'memory.json');
  const child = qkv(['chat', '--model', folder.dir, '--memory', 'window:1', '--temperature', '0', '--max-new-tokens', '12', '--save', memoryPath]);
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stdin.end('hi\nhow are you?\n');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.equal(stdout.split('\n').filter(Boolean).length >= 2, true, stdout);
  const saved = JSON.parse(readFileSync(memoryPath, 'utf8'));
  assert.equal(saved.type, 'window');
  assert.equal(saved.k, 1);
  assert.deepEqual(saved.messages.map((m: { role: string }) => m.role), ['user', 'assistant', 'user', 'assistant']);
  assert.equal(saved.messages[2].content, 'how are you?');
});
