import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { answerQuestion, buildRagPrompt, causalLMGenerator, extractCitations, openAIGenerator } from '../../src/rag/answer.ts';
import { indexDocuments } from '../../src/rag/build-index.ts';
import { Retriever, type RetrievedChunk } from '../../src/rag/retriever.ts';
import { GPT } from '../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { generateText } from '../../src/generate/lm.ts';

function passage(id: string, source: string, start: number, text: string): RetrievedChunk {
  return { chunk: { id, source, start, end: start + text.length, text, metadata: {} }, score: 1 };
}

test('extractCitations: [n], [n, m] and [n-m] map to the passages; out-of-range numbers are reported', () => {
  const passages = [passage('a', 'x.txt', 0, 'alpha'), passage('b', 'y.txt', 10, 'beta'), passage('c', 'z.txt', 5, 'gamma')];
  const { citations, invalid } = extractCitations('Alpha [1]; beta and gamma [2, 3]; again [1-2]; made up [7] [0].', passages);
  assert.deepEqual(citations.map((c) => [c.n, c.chunkId, c.source, c.start, c.end]), [[1, 'a', 'x.txt', 0, 5], [2, 'b', 'y.txt', 10, 14], [3, 'c', 'z.txt', 5, 10]]);
  assert.deepEqual(invalid, [7, 0]);
  const prompt = buildRagPrompt('What is beta?', passages);
  assert.ok(prompt.includes('[2] (y.txt, characters 10–14)\nbeta'));
  assert.ok(prompt.endsWith('Question: What is beta?\nAnswer:'));
});

test('answerQuestion through the openai client against an OpenAI-compatible server: citations point at real chunks', async () => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-answer-'));
  const requests: Array<{ model: string; messages: Array<{ content: string }> }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (part) => (body += part));
    request.on('end', () => {
      requests.push(JSON.parse(body));
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 0, model: 'stub',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Cats sleep most of the day [1], and ships carry cargo [2]. See also [9].' } }],
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'docs', 'cats.txt'), 'Cats purr and sleep most of the day.');
    writeFileSync(join(root, 'docs', 'ships.txt'), 'A ship sails the ocean with cargo.');
    await indexDocuments({ paths: [join(root, 'docs')], dir: join(root, 'index') });
    const retriever = await Retriever.open(join(root, 'index'));
    const port = (server.address() as AddressInfo).port;
    const answer = await answerQuestion({ question: 'Do cats sleep, and what does a ship carry?', retriever, generator: openAIGenerator({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'stub', apiKey: 'test' }), k: 2, mode: 'bm25' });
    assert.equal(requests.length, 1);
    assert.equal(requests[0].model, 'stub');
    assert.equal(requests[0].messages[0].content, answer.prompt);
    assert.deepEqual(answer.invalidCitations, [9]);
    assert.equal(answer.citations.length, 2);
    for (const citation of answer.citations) {
      const chunk = answer.passages[citation.n - 1].chunk;
      assert.equal(citation.chunkId, chunk.id);
      assert.equal(readFileSync(citation.source, 'utf8').slice(citation.start, citation.end), chunk.text, 'source and offsets give back the cited text');
      assert.ok(answer.prompt.includes(`[${citation.n}] (${citation.source}, characters ${citation.start}–${citation.end})`));
    }
    await retriever.close();
  } finally {
    server.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('causalLMGenerator: a qkv GPT answers greedily from the prompt, keeping its end when the context overflows', async () => {
  const passages = [passage('a', 'x.txt', 0, 'the cat sat on the mat'), passage('b', 'y.txt', 0, 'a dog ran')];
  const prompt = buildRagPrompt('where did the cat sit?', passages);
  const tokenizer = trainCharTokenizer(prompt, { specialTokens: ['<|endoftext|>'] });
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 64 }, { rng: new Rng(3) });
  const text = await causalLMGenerator(model, tokenizer, { max_new_tokens: 8 }).generate(prompt);
  // The prompt is longer than 64 − 8 characters: the generator keeps its last 56, which end with "Answer:".
  const kept = prompt.slice(prompt.length - 56);
  assert.ok(kept.endsWith('Answer:'));
  const direct = await generateText({ model, tokenizer, prompt: kept, config: { temperature: 0, max_new_tokens: 8 } });
  assert.equal(text, direct.text);
  assert.ok(text.length > 0);
});
