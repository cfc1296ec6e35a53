/**
 * End to end with a real (tiny, trained) qkv model: the same chain run on the local model and
 * through `qkv serve` with the `openai` client gives the same greedy text; LangChain.js's
 * ChatOpenAI and OpenAIEmbeddings pointed at the server work in a LangChain chain; API keys.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import OpenAI from 'openai';
import { LLMChain, SequentialChain } from '../../src/apps/chains.ts';
import { OpenAIEmbedder, type Embedder } from '../../src/apps/embedder.ts';
import { LocalModel, OpenAIModel } from '../../src/apps/language-model.ts';
import { BufferMemory, SummaryMemory } from '../../src/apps/memory.ts';
import { ChatSession } from '../../src/apps/chat-session.ts';
import { PromptTemplate } from '../../src/apps/prompt-template.ts';
import type { RunningServer } from '../../src/serve/server.ts';
import { startTinyServer, trainTinyModel, type TinyModel } from './fixtures.ts';

let tiny: TinyModel;
let server: RunningServer;
const API_KEY = 'sk-test-123';
/** Three fixed vectors by keyword, so the similarity LangChain sees is known. */
const keywordEmbedder: Embedder = {
  embed: (texts) => texts.map((t) => [t.includes('cat') ? 1 : 0, t.includes('dog') ? 1 : 0, 1]),
  countTokens: (t) => t.length,
};

before(async () => {
  tiny = trainTinyModel(40);
  ({ server } = await startTinyServer(tiny, { apiKey: API_KEY, embedder: { id: 'keywords', embedder: keywordEmbedder } }));
});
after(() => server.close({ graceMs: 100 }));

test('a wrong or missing API key gets 401 in OpenAI\'s shape; /health and the page stay open', async () => {
  const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
  await assert.rejects(wrong.models.list(), (error: InstanceType<typeof OpenAI.APIError>) => {
    assert.equal(error.status, 401);
    assert.equal((error.error as { code: string }).code, 'invalid_api_key');
    return true;
  });
  assert.equal((await fetch(`${server.url}/v1/models`)).status, 401);
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
  assert.equal((await fetch(`${server.url}/`)).status, 200);
});

test('the same SequentialChain on the local model and through the server gives the same greedy text', async () => {
  const eos = tiny.tokenizer.tokenToId('<|endoftext|>')!;
  const local = new LocalModel({ model: tiny.model, tokenizer: tiny.tokenizer, config: { max_new_tokens: 12, eos_token_id: eos } });
  const remote = new OpenAIModel({ client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0 }), model: 'tiny-chat', mode: 'completion', maxTokens: 12 });
  const build = (llm: LocalModel | OpenAIModel) =>
    new SequentialChain({
      chains: [
        new LLMChain({ llm, prompt: new PromptTemplate('User: {question}\nAssistant:'), outputKey: 'answer', completeOptions: { temperature: 0 } }),
        new LLMChain({ llm, prompt: new PromptTemplate('User: {answer}?\nAssistant:'), outputKey: 'followup', completeOptions: { temperature: 0 } }),
      ],
      inputKeys: ['question'],
    });
  const viaLocal = await build(local).call({ question: 'hi' });
  const viaServer = await build(remote).call({ question: 'hi' });
  assert.deepEqual(viaServer, viaLocal);
  assert.ok(viaLocal.answer.length > 0);
});

test('memories on the real model: a chat session remembers, and summary memory calls the model', async () => {
  const eos = tiny.tokenizer.tokenToId('<|endoftext|>')!;
  const local = new LocalModel({ model: tiny.model, tokenizer: tiny.tokenizer, config: { max_new_tokens: 10, eos_token_id: eos } });
  const calls: string[] = [];
  const counting = { ...local, complete: (p: string) => { calls.push(p); return local.complete(p, { maxTokens: 8 }); }, stream: local.stream.bind(local) };
  const summary = new SummaryMemory(counting, 1);
  const chat = new ChatSession({ llm: local, memory: summary, completeOptions: { temperature: 0 } });
  for (const message of ['hi', 'how are you?']) for await (const piece of chat.send(message)) void piece;
  assert.equal(calls.length, 1, 'the first exchange was summarised once it left the window');
  assert.match(calls[0], /Human: hi\nAI: /);
  assert.equal(summary.messages()[0].role, 'system');
  const buffer = new BufferMemory();
  const plain = new ChatSession({ llm: local, memory: buffer, completeOptions: { temperature: 0 } });
  for await (const piece of plain.send('hi')) void piece;
  assert.match(plain.prompt('again'), /^User: hi\nAssistant: .*\nUser: again\nAssistant: $/s);
});

test('LangChain.js: ChatOpenAI in a prompt | model | parser chain, streamed, and OpenAIEmbeddings, against qkv serve', async () => {
  const configuration = { baseURL: `${server.url}/v1` };
  const model = new ChatOpenAI({ model: 'tiny-chat', apiKey: API_KEY, configuration, temperature: 0, maxTokens: 10, maxRetries: 0 });
  const chain = ChatPromptTemplate.fromMessages([['user', '{question}']]).pipe(model).pipe(new StringOutputParser());
  const answer = await chain.invoke({ question: 'hi' });
  const direct = await new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0 }).chat.completions.create({
    model: 'tiny-chat', messages: [{ role: 'user', content: 'hi' }], temperature: 0, max_tokens: 10,
  });
  assert.equal(answer, direct.choices[0].message.content);
  let streamed = '';
  for await (const piece of await chain.stream({ question: 'hi' })) streamed += piece;
  assert.equal(streamed, answer);

  const embeddings = new OpenAIEmbeddings({ model: 'keywords', apiKey: API_KEY, configuration, maxRetries: 0 });
  assert.deepEqual(await embeddings.embedQuery('a cat'), [1, 0, 1]);
  assert.deepEqual(await embeddings.embedDocuments(['dog', 'cat and dog']), [[0, 1, 1], [1, 1, 1]]);
  // and qkv's own OpenAIEmbedder reads the same endpoint
  const ours = new OpenAIEmbedder({ client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY }), model: 'keywords' });
  assert.deepEqual(await ours.embed(['dog']), [[0, 1, 1]]);
});
