/**
 * Memories on worked examples: what each shows after a known conversation, the token limit
 * never exceeded, the summary model called with the turns that fell out, JSON round trips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatSession, turnTokenCounter } from '../../src/apps/chat-session.ts';
import type { LanguageModel } from '../../src/apps/language-model.ts';
import {
  BufferMemory, SummaryMemory, TokenBufferMemory, WindowMemory, loadMemory, memoryFromSpec, saveMemory, type Turn,
} from '../../src/apps/memory.ts';

/** Summarises by listing the first word of every new line; records its prompts. */
class FirstWordModel implements LanguageModel {
  prompts: string[] = [];
  async complete(prompt: string): Promise<string> {
    this.prompts.push(prompt);
    const lines = prompt.split('New lines of conversation:\n')[1].split('\n\nNew summary:')[0].split('\n');
    const previous = prompt.split('Current summary:\n')[1].split('\n\n')[0];
    return [previous, ...lines.map((l) => l.split(': ')[1].split(' ')[0])].filter(Boolean).join(' ');
  }
  async *stream(prompt: string): AsyncGenerator<string> {
    yield await this.complete(prompt);
  }
}

const exchanges: [string, string][] = [['one a', 'uno'], ['two b', 'dos'], ['three c', 'tres'], ['four d', 'cuatro']];
async function fill<M extends BufferMemory>(memory: M): Promise<M> {
  for (const [user, assistant] of exchanges) await memory.addExchange(user, assistant);
  return memory;
}
const contents = (turns: Turn[]) => turns.map((t) => t.content);

test('BufferMemory keeps every turn; WindowMemory(k) the last k exchanges', async () => {
  assert.deepEqual(contents((await fill(new BufferMemory())).messages()), ['one a', 'uno', 'two b', 'dos', 'three c', 'tres', 'four d', 'cuatro']);
  assert.deepEqual(contents((await fill(new WindowMemory(2))).messages()), ['three c', 'tres', 'four d', 'cuatro']);
  assert.throws(() => new WindowMemory(0), /k must be an integer >= 1/);
});

test('TokenBufferMemory: the newest whole turns within the limit; the limit is never exceeded', async () => {
  const count = (turn: Turn) => turn.content.length; // one token per character, countable by hand
  const memory = await fill(new TokenBufferMemory(13, count));
  // newest first: cuatro 6, four d 6 (12), tres 4 → 16 > 13
  assert.deepEqual(contents(memory.messages()), ['four d', 'cuatro']);
  for (let limit = 1; limit <= 40; limit++) {
    const m = await fill(new TokenBufferMemory(limit, count));
    assert.ok(m.tokenCount() <= limit, `limit ${limit}: ${m.tokenCount()}`);
  }
  assert.deepEqual((await fill(new TokenBufferMemory(3, count))).messages(), []); // "cuatro" alone is 6
});

test('SummaryMemory: turns that leave the window are summarised by the model, shown as a system turn', async () => {
  const llm = new FirstWordModel();
  const memory = await fill(new SummaryMemory(llm, 1));
  // After exchange 2, exchange 1 is folded; after 3, exchange 2; after 4, exchange 3: three calls.
  assert.equal(llm.prompts.length, 3);
  assert.match(llm.prompts[0], /Current summary:\n\n\nNew lines of conversation:\nHuman: one a\nAI: uno\n\nNew summary:$/);
  assert.equal(memory.summary, 'one uno two dos three tres');
  assert.deepEqual(memory.messages(), [
    { role: 'system', content: 'Summary of the conversation so far: one uno two dos three tres' },
    { role: 'user', content: 'four d' },
    { role: 'assistant', content: 'cuatro' },
  ]);
});

test('memories save to JSON and load back showing the same turns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-memory-'));
  const count = (turn: Turn) => turn.content.length;
  const llm = new FirstWordModel();
  for (const memory of [await fill(new BufferMemory()), await fill(new WindowMemory(1)), await fill(new TokenBufferMemory(13, count)), await fill(new SummaryMemory(llm, 1))]) {
    const path = join(dir, `${memory.constructor.name}.json`);
    saveMemory(path, memory);
    const loaded = loadMemory(path, { llm, countTokens: count });
    assert.equal(loaded.constructor, memory.constructor);
    assert.deepEqual(loaded.messages(), memory.messages());
    assert.deepEqual(loaded.history(), memory.history());
  }
  assert.throws(() => loadMemory(join(dir, 'TokenBufferMemory.json')), /needs countTokens/);
});

test('memoryFromSpec reads the CLI spellings', () => {
  const count = (turn: Turn) => turn.content.length;
  assert.ok(memoryFromSpec('buffer') instanceof BufferMemory);
  assert.equal((memoryFromSpec('window:4') as WindowMemory).k, 4);
  assert.equal((memoryFromSpec('tokens:512', { countTokens: count }) as TokenBufferMemory).maxTokens, 512);
  assert.ok(memoryFromSpec('summary', { llm: new FirstWordModel() }) instanceof SummaryMemory);
  assert.throws(() => memoryFromSpec('window:x'), /window:N/);
  assert.throws(() => memoryFromSpec('forever'), /expected buffer/);
});

test('ChatSession renders the remembered turns with the template and records each exchange', async () => {
  const prompts: string[] = [];
  const llm: LanguageModel = {
    complete: async () => '',
    async *stream(prompt) {
      prompts.push(prompt);
      yield ' fine';
      yield ', thanks\n';
    },
  };
  const memory = new WindowMemory(1);
  const chat = new ChatSession({ llm, memory });
  let reply = '';
  for await (const piece of chat.send('hi')) reply += piece;
  assert.equal(reply, ' fine, thanks\n');
  for await (const piece of chat.send('and you?')) void piece;
  assert.equal(prompts[1], 'User: hi\nAssistant: fine, thanks\nUser: and you?\nAssistant: ');
  assert.deepEqual(contents(memory.messages()), ['and you?', 'fine, thanks']);
  // One turn's tokens as the template renders it: "User: hi\n" is 9 characters.
  assert.equal(turnTokenCounter((text) => text.length)({ role: 'user', content: 'hi' }), 9);
});
