/**
 * Answering from retrieved context: query → top-k chunks → a prompt with numbered passages →
 * a generator (a qkv causal LM, or any OpenAI-compatible endpoint) → an answer whose `[n]`
 * citations are mapped back to the chunks they name (source path and character offsets).
 *
 * The prompt, for k = 2:
 *
 *   Answer the question using only the numbered passages below. Cite the passages you use as [1], [2].
 *
 *   [1] (docs/a.txt, characters 0–812)
 *   …passage text…
 *
 *   [2] (docs/b.md, characters 1400–2210)
 *   …passage text…
 *
 *   Question: …
 *   Answer:
 *
 * @example
 *   const answer = await answerQuestion({ question, retriever, generator: openAIGenerator({ baseURL, model: 'gpt-4o-mini' }), k: 4 });
 *   for (const citation of answer.citations) console.log(citation.n, citation.source, citation.start, citation.end);
 */
import OpenAI from 'openai';
import type { CausalLM } from '../models/causal-lm.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import type { GenerationConfig } from '../generate/config.ts';
import { generateText } from '../generate/lm.ts';
import type { RetrievedChunk, Retriever, SearchOptions } from './retriever.ts';

/** Turns a prompt into an answer. */
export interface Generator {
  readonly name: string;
  generate(prompt: string): Promise<string>;
}

export interface Citation {
  /** The number written in the answer, `[n]`. */
  n: number;
  chunkId: string;
  source: string;
  start: number;
  end: number;
}

export interface Answer {
  question: string;
  answer: string;
  prompt: string;
  /** The passages in prompt order: passage n is `passages[n - 1]`. */
  passages: RetrievedChunk[];
  /** Each distinct valid `[n]` of the answer, in order of first appearance. */
  citations: Citation[];
  /** Numbers cited that name no passage (a model inventing `[7]` with 4 passages). */
  invalidCitations: number[];
}

export const RAG_INSTRUCTION = 'Answer the question using only the numbered passages below. Cite the passages you use as [1], [2].';

export function buildRagPrompt(question: string, passages: readonly RetrievedChunk[]): string {
  const context = passages
    .map(({ chunk }, i) => `[${i + 1}] (${chunk.source}, characters ${chunk.start}–${chunk.end})\n${chunk.text.trim()}`)
    .join('\n\n');
  return `${RAG_INSTRUCTION}\n\n${context}\n\nQuestion: ${question.trim()}\nAnswer:`;
}

/** The `[n]` (and `[n, m]`, `[n-m]`) citations of `answer`, mapped onto `passages`. */
export function extractCitations(answer: string, passages: readonly RetrievedChunk[]): { citations: Citation[]; invalid: number[] } {
  const numbers: number[] = [];
  for (const match of answer.matchAll(/\[(\d+(?:\s*[,–-]\s*\d+)*)\]/g)) {
    for (const part of match[1].split(/\s*,\s*/)) {
      const range = /^(\d+)\s*[–-]\s*(\d+)$/.exec(part);
      if (range !== null) {
        const from = Number(range[1]);
        const to = Number(range[2]);
        for (let n = from; n <= to && n - from < 100; n++) numbers.push(n);
      } else numbers.push(Number(part));
    }
  }
  const citations: Citation[] = [];
  const invalid: number[] = [];
  for (const n of numbers) {
    if (n >= 1 && n <= passages.length) {
      if (citations.some((citation) => citation.n === n)) continue;
      const { chunk } = passages[n - 1];
      citations.push({ n, chunkId: chunk.id, source: chunk.source, start: chunk.start, end: chunk.end });
    } else if (!invalid.includes(n)) invalid.push(n);
  }
  return { citations, invalid };
}

export interface AnswerOptions extends SearchOptions {
  question: string;
  retriever: Retriever;
  generator: Generator;
}

export async function answerQuestion(options: AnswerOptions): Promise<Answer> {
  const passages = await options.retriever.search(options.question, { ...options, k: options.k ?? 4 });
  const prompt = buildRagPrompt(options.question, passages);
  const answer = (await options.generator.generate(prompt)).trim();
  const { citations, invalid } = extractCitations(answer, passages);
  return { question: options.question, answer, prompt, passages, citations, invalidCitations: invalid };
}

/** A qkv causal LM (GPT or Llama folder) as a generator; greedy, 128 new tokens unless `config` says otherwise. */
export function causalLMGenerator(model: CausalLM, tokenizer: Tokenizer, config: GenerationConfig = {}): Generator {
  return {
    name: 'qkv causal LM',
    generate: async (prompt) => {
      // Keep the prompt's end (the question) when the passages overflow the context.
      const maxNew = config.max_new_tokens ?? 128;
      const ids = tokenizer.encodeIds(prompt);
      const room = Math.max(1, model.contextLength - maxNew);
      const fitted = ids.length > room ? tokenizer.decode(ids.slice(ids.length - room)) : prompt;
      const { text } = await generateText({ model, tokenizer, prompt: fitted, config: { temperature: 0, ...config, max_new_tokens: maxNew } });
      return text;
    },
  };
}

export interface OpenAIGeneratorOptions {
  /** `http://localhost:8000/v1`, or any OpenAI-compatible server. */
  baseURL: string;
  model: string;
  /** Default `OPENAI_API_KEY`, else a placeholder (local servers ignore it). */
  apiKey?: string;
  maxTokens?: number;
  temperature?: number;
}

/** Any OpenAI-compatible chat-completions endpoint, through the official `openai` client. */
export function openAIGenerator(options: OpenAIGeneratorOptions): Generator {
  const client = new OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey ?? process.env.OPENAI_API_KEY ?? 'not-needed', maxRetries: 1 });
  return {
    name: `${options.model} at ${options.baseURL}`,
    generate: async (prompt) => {
      const completion = await client.chat.completions.create({
        model: options.model,
        messages: [{ role: 'user', content: prompt }],
        max_tokens: options.maxTokens ?? 256,
        temperature: options.temperature ?? 0,
      });
      return completion.choices[0]?.message?.content ?? '';
    },
  };
}
