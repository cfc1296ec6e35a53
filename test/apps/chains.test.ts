/**
 * Prompt templates and chains on a deterministic stub model whose answers are worked out by
 * hand: it echoes its prompt in capitals, so every output can be written down in advance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LLMChain, RouterChain, SequentialChain } from '../../src/apps/chains.ts';
import type { Embedder } from '../../src/apps/embedder.ts';
import type { LanguageModel } from '../../src/apps/language-model.ts';
import { PromptTemplate } from '../../src/apps/prompt-template.ts';

/** Answers with its prompt upper-cased; records every prompt. */
class ShoutingModel implements LanguageModel {
  prompts: string[] = [];
  async complete(prompt: string): Promise<string> {
    this.prompts.push(prompt);
    return ` ${prompt.toUpperCase()}\n`;
  }
  async *stream(prompt: string): AsyncGenerator<string> {
    yield await this.complete(prompt);
  }
}

test('PromptTemplate: variables in order, {{ }} literal, a missing variable is named', () => {
  const prompt = new PromptTemplate('Translate "{text}" into {language} {{as JSON}}; {text} again');
  assert.deepEqual(prompt.inputVariables, ['text', 'language']);
  assert.equal(prompt.format({ text: 'cat', language: 'French' }), 'Translate "cat" into French {as JSON}; cat again');
  assert.throws(() => prompt.format({ text: 'cat' }), /missing variable "language"/);
  assert.throws(() => new PromptTemplate('oops {unclosed'), /never closed/);
  assert.throws(() => new PromptTemplate('a } b'), /lone "}"/);
  assert.throws(() => new PromptTemplate('{not a name}'), /not a variable name/);
});

test('LLMChain: template → model → trimmed text under outputKey', async () => {
  const llm = new ShoutingModel();
  const chain = new LLMChain({ llm, prompt: new PromptTemplate('name a {animal}'), outputKey: 'name' });
  assert.deepEqual(chain.inputKeys, ['animal']);
  assert.deepEqual(await chain.call({ animal: 'cat' }), { name: 'NAME A CAT' });
  assert.deepEqual(llm.prompts, ['name a cat']);
  await assert.rejects(chain.call({}), /missing variable "animal"/);
});

test('SequentialChain: outputs feed later inputs by name; a variable nothing provides is named when built', async () => {
  const llm = new ShoutingModel();
  const title = new LLMChain({ llm, prompt: new PromptTemplate('title: {topic}'), outputKey: 'title' });
  const blurb = new LLMChain({ llm, prompt: new PromptTemplate('blurb of {title} on {topic}'), outputKey: 'blurb' });
  const both = new SequentialChain({ chains: [title, blurb], inputKeys: ['topic'] });
  assert.deepEqual(await both.call({ topic: 'heads' }), { topic: 'heads', title: 'TITLE: HEADS', blurb: 'BLURB OF TITLE: HEADS ON HEADS' });
  const onlyBlurb = new SequentialChain({ chains: [title, blurb], inputKeys: ['topic'], outputKeys: ['blurb'] });
  assert.deepEqual(Object.keys(await onlyBlurb.call({ topic: 'x' })), ['blurb']);
  assert.throws(() => new SequentialChain({ chains: [blurb, title], inputKeys: ['topic'] }), /chain 0 needs "title"/);
  await assert.rejects(both.call({}), /missing input "topic"/);
});

test('RouterChain by rule: the rule picks the route, unknown inputs go to the default', async () => {
  const llm = new ShoutingModel();
  const math = new LLMChain({ llm, prompt: new PromptTemplate('math: {input}') });
  const poem = new LLMChain({ llm, prompt: new PromptTemplate('poem: {input}') });
  const other = new LLMChain({ llm, prompt: new PromptTemplate('other: {input}') });
  const router = new RouterChain({
    routes: [{ name: 'math', description: 'arithmetic', chain: math }, { name: 'poem', description: 'verse', chain: poem }],
    rule: ({ input }) => (/\d/.test(input) ? 'math' : input.includes('rhyme') ? 'poem' : undefined),
    defaultChain: other,
  });
  assert.deepEqual(await router.call({ input: '2+2' }), { text: 'MATH: 2+2', route: 'math' });
  assert.deepEqual(await router.call({ input: 'a rhyme' }), { text: 'POEM: A RHYME', route: 'poem' });
  assert.deepEqual(await router.call({ input: 'hello' }), { text: 'OTHER: HELLO', route: 'default' });
  const strict = new RouterChain({ routes: [{ name: 'math', description: '', chain: math }], rule: () => 'physics' });
  await assert.rejects(strict.call({ input: 'x' }), /chose "physics", which is not a route/);
});

test('RouterChain by embedding: the route whose description is most similar, by cosine', async () => {
  // Bag of three words: each text → counts of "number", "verse", "weather"; cosines by hand.
  const words = ['number', 'verse', 'weather'];
  const embedder: Embedder = { embed: (texts) => texts.map((t) => words.map((w) => t.split(/\W+/).filter((x) => x === w).length)) };
  const llm = new ShoutingModel();
  const router = new RouterChain({
    routes: [
      { name: 'math', description: 'number questions', chain: new LLMChain({ llm, prompt: new PromptTemplate('m {input}') }) },
      { name: 'poem', description: 'verse', chain: new LLMChain({ llm, prompt: new PromptTemplate('p {input}') }) },
    ],
    embedder,
    minSimilarity: 0.5,
    defaultChain: new LLMChain({ llm, prompt: new PromptTemplate('d {input}') }),
  });
  const chosen = await router.choose({ input: 'a verse about a number verse' }); // (1,2,0): cos to (1,0,0) = 0.447, to (0,1,0) = 0.894
  assert.equal(chosen.name, 'poem');
  assert.ok(Math.abs(chosen.similarity! - 2 / Math.sqrt(5)) < 1e-12);
  assert.equal((await router.call({ input: 'number please' })).route, 'math');
  assert.equal((await router.call({ input: 'weather today' })).route, 'default'); // cos 0 with both
});
