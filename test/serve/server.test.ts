/**
 * The server through the real `openai` client, on 127.0.0.1 and a free port, with a tiny
 * trained GPT: each answer is checked against the model run directly (greedy text from
 * `generateText`, log-probabilities from a forward pass, embeddings from `embedTexts`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { DEFAULT_CHAT_TEMPLATE, renderChat } from '../../src/adapt/chat-template.ts';
import { logSoftmax } from '../../src/generate/logits-processors.ts';
import { generateText } from '../../src/generate/lm.ts';
import { embedTexts } from '../../src/models/bert-embed.ts';
import { saveBert } from '../../src/models/bert-folder.ts';
import { BertModel } from '../../src/models/bert.ts';
import { loadServedEmbedder } from '../../src/serve/load.ts';
import type { RunningServer } from '../../src/serve/server.ts';
import { ServedModel } from '../../src/serve/engine.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Rng } from '../../src/tensor/random.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { tinyBert } from '../tokenizers/bert-fixture.ts';
import { startTinyServer, trainTinyModel, type TinyModel } from './fixtures.ts';

let tiny: TinyModel;
let server: RunningServer;
let served: ServedModel;
let logLines: string[];
let client: OpenAI;
const bert = new BertModel(
  { vocab_size: 26, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 16 },
  { rng: new Rng(1) },
).eval();
const bertTokenizer = tinyBert();

before(async () => {
  tiny = trainTinyModel(40);
  const bertDir = join(mkdtempSync(join(tmpdir(), 'qkv-serve-bert-')), 'tiny-bert');
  saveBert(bertDir, bert, bertTokenizer);
  ({ server, served, logLines } = await startTinyServer(tiny, { embedder: loadServedEmbedder(bertDir), maxBodyBytes: 64 * 1024 }));
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

after(async () => {
  await server.close({ graceMs: 100 });
});

test('binds 127.0.0.1; /v1/models lists the chat and the embedding model; /health answers', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['tiny-chat', 'tiny-bert']);
  assert.equal((await client.models.retrieve('tiny-chat')).owned_by, 'qkv');
  const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string };
  assert.equal(health.status, 'ok');
});

test('completions: greedy text equals generateText on the same model; usage counts the tokens', async () => {
  const prompt = 'User: hi\nAssistant:';
  const completion = await client.completions.create({ model: 'tiny-chat', prompt, max_tokens: 12, temperature: 0 });
  const direct = await generateText({ model: tiny.model, tokenizer: tiny.tokenizer, prompt, config: { max_new_tokens: 12, do_sample: false, eos_token_id: served.encode('')[0] } });
  assert.equal(completion.choices[0].text, direct.text);
  assert.equal(completion.choices[0].finish_reason, direct.finishReason === 'length' ? 'length' : 'stop');
  assert.deepEqual(completion.usage, { prompt_tokens: prompt.length, completion_tokens: direct.ids.length, total_tokens: prompt.length + direct.ids.length });
});

test('completions logprobs: the first token\'s log-probability and top alternatives match a forward pass', async () => {
  const prompt = 'User: how';
  const completion = await client.completions.create({ model: 'tiny-chat', prompt, max_tokens: 1, temperature: 0, logprobs: 3 });
  const ids = tiny.tokenizer.encodeIds(prompt);
  const logits = noGrad(() => tiny.model.forward(Tensor.from(ids, [1, ids.length])).logits); // (1, T, V)
  const last = Array.from({ length: tiny.model.vocabSize }, (_, v) => logits.get(0, ids.length - 1, v));
  const expected = logSoftmax(last);
  const order = Array.from(expected.keys()).sort((a, b) => expected[b] - expected[a]);
  const logprobs = completion.choices[0].logprobs!;
  assert.equal(logprobs.tokens![0], tiny.tokenizer.decode([order[0]]));
  assert.ok(Math.abs(logprobs.token_logprobs![0] - expected[order[0]]) < 1e-4);
  const top = logprobs.top_logprobs![0];
  assert.deepEqual(Object.keys(top), order.slice(0, 3).map((id) => tiny.tokenizer.decode([id])));
});

test('chat: a streamed reply joined equals the same request unstreamed (same seed), ends with a finish reason and usage', async () => {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const request = { model: 'tiny-chat', messages, max_tokens: 24, temperature: 0.9, seed: 7 };
  const whole = await client.chat.completions.create(request);
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.delta.content ?? '';
      finish = choice.finish_reason ?? finish;
    }
  }
  assert.ok(chunks > 3, `${chunks} chunks`);
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  const promptTokens = tiny.tokenizer.encodeIds(renderChat(messages, DEFAULT_CHAT_TEMPLATE, { addGenerationPrompt: true })).length;
  assert.equal(whole.usage!.prompt_tokens, promptTokens);
  assert.deepEqual(usage, whole.usage);
  assert.ok(!text.includes('\nUser:'), 'the default template stops before the next user turn');
});

test('chat: the raw stream is OpenAI SSE ending with data: [DONE]; n = 2 gives two seeded choices', async () => {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true }),
  });
  assert.match(response.headers.get('content-type')!, /^text\/event-stream/);
  const raw = await response.text();
  assert.ok(raw.endsWith('data: [DONE]\n\n'));
  const first = JSON.parse(raw.split('\n\n')[0].slice('data: '.length));
  assert.equal(first.object, 'chat.completion.chunk');
  assert.deepEqual(first.choices[0].delta, { role: 'assistant', content: '' });

  const two = await client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], n: 2, max_tokens: 16, temperature: 1.5, seed: 3 });
  assert.deepEqual(two.choices.map((c) => c.index), [0, 1]);
  const again = await client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], n: 2, max_tokens: 16, temperature: 1.5, seed: 3 });
  assert.deepEqual(again.choices.map((c) => c.message.content), two.choices.map((c) => c.message.content));
  assert.notEqual(two.choices[0].message.content, two.choices[1].message.content);
});

test('chat logprobs: one entry per token with its bytes and top alternatives', async () => {
  const reply = await client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 6, temperature: 0, logprobs: true, top_logprobs: 2 });
  const content = reply.choices[0].logprobs!.content!;
  assert.equal(content.map((c) => c.token).join(''), reply.choices[0].message.content);
  for (const entry of content) {
    assert.ok(entry.logprob <= 0);
    assert.equal(entry.top_logprobs.length, 2);
    assert.equal(entry.top_logprobs[0].logprob, entry.logprob, 'greedy picks the most likely token');
    assert.deepEqual(entry.bytes, [...Buffer.from(entry.token)]);
  }
});

test('embeddings through the openai client (base64 by default, and float) equal embedTexts on the BERT folder', async () => {
  const texts = ['the cat', 'the cat sat on the mat.'];
  const expected = embedTexts(bert, bertTokenizer, texts);
  const viaBase64 = await client.embeddings.create({ model: 'tiny-bert', input: texts });
  const viaFloat = await client.embeddings.create({ model: 'tiny-bert', input: texts, encoding_format: 'float' });
  for (const result of [viaBase64, viaFloat]) {
    assert.equal(result.data.length, 2);
    for (let i = 0; i < 2; i++) for (let c = 0; c < 8; c++) assert.ok(Math.abs(result.data[i].embedding[c] - expected[i][c]) < 1e-6, `text ${i} channel ${c}`);
  }
  assert.equal(viaFloat.usage.prompt_tokens, bertTokenizer.encode('the cat').ids.length + bertTokenizer.encode('the cat sat on the mat.').ids.length);
});

test('bad requests get 400/404/413 in OpenAI\'s error shape naming the field', async () => {
  const expectError = async (call: () => Promise<unknown>, status: number, param: string | null, pattern: RegExp) => {
    await assert.rejects(call, (error: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(error.status, status);
      assert.equal((error.error as { param: string | null }).param, param);
      assert.match(error.message, pattern);
      return true;
    });
  };
  const messages = [{ role: 'user' as const, content: 'hi' }];
  await expectError(() => client.chat.completions.create({ model: 'tiny-chat', messages, temperature: 'hot' as unknown as number }), 400, 'temperature', /expected number/);
  await expectError(() => client.chat.completions.create({ model: 'tiny-chat', messages: [{ role: 'robot' as 'user', content: 'x' }] }), 400, 'messages.0.role', /Invalid option/);
  await expectError(() => client.chat.completions.create({ model: 'gpt-4o', messages }), 404, 'model', /does not exist/);
  await expectError(() => client.completions.create({ model: 'tiny-chat', prompt: 'x'.repeat(200) }), 400, 'prompt', /maximum context length is 96 tokens; the prompt is 200 tokens/);
  await expectError(() => client.chat.completions.create({ model: 'tiny-chat', messages, max_tokens: 1000 }), 400, 'max_tokens', /Reduce max_tokens to at most 7\d/);
  await expectError(() => client.embeddings.create({ model: 'tiny-chat', input: 'x' }), 404, 'model', /embedding model is 'tiny-bert'/);
  await expectError(() => client.embeddings.create({ model: 'tiny-bert', input: 'the cat '.repeat(20) }), 400, 'input', /at most 16/);

  const big = await fetch(`${server.url}/v1/completions`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-chat', prompt: 'y'.repeat(100_000) }),
  });
  assert.equal(big.status, 413);
  assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'request_too_large');
  const broken = await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":' });
  assert.equal(broken.status, 400);
  assert.equal(((await broken.json()) as { error: { code: string } }).error.code, 'invalid_json');
});

/** The tiny model, 3 ms slower per forward pass: so slow that a reply cannot be sent whole before the client reads. */
function slowModel(model: TinyModel['model']): TinyModel['model'] {
  const slow = Object.create(model) as TinyModel['model'];
  slow.forward = (...args: Parameters<TinyModel['model']['forward']>) => {
    const until = performance.now() + 3;
    while (performance.now() < until); // busy, as a real forward pass is
    return model.forward(...args);
  };
  return slow;
}

test('a client that cancels a stream stops its generation: the model\'s step counter stops', async () => {
  const slow = new ServedModel({ id: 'tiny-chat', model: slowModel(tiny.model), tokenizer: tiny.tokenizer });
  const { server, served, logLines } = await startTinyServer(tiny, { served: slow });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const stream = await client.completions.create({ model: 'tiny-chat', prompt: 'User: hi\nAssistant:', max_tokens: 70, temperature: 1, stream: true });
  const before = served.stepsRun;
  let pieces = 0;
  // Leaving the loop is how the openai client cancels a stream: it aborts the request.
  for await (const chunk of stream) {
    if (chunk.choices[0]?.text) pieces++;
    if (pieces === 3) break;
  }
  await new Promise((resolve) => setTimeout(resolve, 150));
  const settled = served.stepsRun;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(served.stepsRun, settled, 'no step runs after the cancel');
  assert.ok(settled - before < 60, `${settled - before} steps ran of 70 asked`);
  assert.equal(server.inFlight.size, 0);
  assert.ok(logLines.some((line) => /POST \/v1\/completions 200 .* stream cancelled/.test(line)), logLines.join('\n'));
  await server.close();
});

test('one log line per request, with the model and token counts', () => {
  const lines = logLines.filter((line) => line.startsWith('POST /v1/completions 200'));
  assert.ok(lines.length >= 2);
  assert.match(lines[0], /^POST \/v1\/completions 200 \d+ms model=tiny-chat prompt_tokens=\d+ completion_tokens=\d+$/);
});
