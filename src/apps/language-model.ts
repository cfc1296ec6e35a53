/**
 * What a chain or a memory calls: text in, text out (streamed when the caller wants it). Two
 * kinds: a local qkv model (`LocalModel`, through `src/generate`), and any OpenAI-compatible
 * endpoint (`OpenAIModel`, through the `openai` client): OpenAI itself, `qkv serve`, vLLM,
 * llama.cpp's server.
 *
 * @example
 * const local = new LocalModel({ model, tokenizer, config: { max_new_tokens: 40 } });
 * const remote = new OpenAIModel({ client: new OpenAI({ baseURL: 'http://127.0.0.1:8080/v1', apiKey: 'x' }), model: 'small' });
 * await local.complete('The jury said');
 */
import type OpenAI from 'openai';
import type { GenerationConfig } from '../generate/config.ts';
import { streamText } from '../generate/lm.ts';
import type { CausalLM } from '../models/causal-lm.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';

export interface CompleteOptions {
  /** Extra strings that end the text (not included in it). */
  stop?: readonly string[];
  maxTokens?: number;
  /** 0 = greedy. */
  temperature?: number;
  signal?: AbortSignal;
}

export interface LanguageModel {
  /** The continuation of `prompt`. */
  complete(prompt: string, options?: CompleteOptions): Promise<string>;
  /** The same, piece by piece as it is produced. */
  stream(prompt: string, options?: CompleteOptions): AsyncIterable<string>;
  /** Tokens in `text`, when the model's tokenizer is at hand (token-limited memory needs it). */
  countTokens?(text: string): number;
}

/** Joins a stream into one string. */
async function joined(pieces: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const piece of pieces) text += piece;
  return text;
}

export interface LocalModelOptions {
  model: CausalLM;
  tokenizer: Tokenizer;
  /** Defaults for every call (the folder's generation_config.json, say); call options override. */
  config?: GenerationConfig;
}

/** A qkv causal LM as a `LanguageModel`. */
export class LocalModel implements LanguageModel {
  readonly model: CausalLM;
  readonly tokenizer: Tokenizer;
  readonly config: GenerationConfig;

  constructor(options: LocalModelOptions) {
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.config = options.config ?? {};
  }

  countTokens(text: string): number {
    return this.tokenizer.encodeIds(text).length;
  }

  complete(prompt: string, options: CompleteOptions = {}): Promise<string> {
    return joined(this.stream(prompt, options));
  }

  async *stream(prompt: string, options: CompleteOptions = {}): AsyncGenerator<string> {
    const config: GenerationConfig = { ...this.config };
    if (options.maxTokens !== undefined) config.max_new_tokens = options.maxTokens;
    if (options.temperature !== undefined) {
      config.do_sample = options.temperature > 0;
      config.temperature = options.temperature > 0 ? options.temperature : 1;
    }
    if (options.stop?.length) config.stop = [...toList(config.stop), ...options.stop];
    for await (const piece of streamText({ model: this.model, tokenizer: this.tokenizer, prompt, config })) {
      if (options.signal?.aborted) return;
      if (piece.text) yield piece.text;
    }
  }
}

function toList(stop: string | string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  return typeof stop === 'string' ? [stop] : stop;
}

export interface OpenAIModelOptions {
  client: OpenAI;
  model: string;
  /** 'chat' sends the prompt as one user message (default); 'completion' uses /v1/completions. */
  mode?: 'chat' | 'completion';
  maxTokens?: number;
  temperature?: number;
}

/** An OpenAI-compatible endpoint as a `LanguageModel`. */
export class OpenAIModel implements LanguageModel {
  constructor(private readonly options: OpenAIModelOptions) {}

  complete(prompt: string, options: CompleteOptions = {}): Promise<string> {
    return joined(this.stream(prompt, options));
  }

  async *stream(prompt: string, options: CompleteOptions = {}): AsyncGenerator<string> {
    const { client, model } = this.options;
    const common = {
      model,
      max_tokens: options.maxTokens ?? this.options.maxTokens,
      temperature: options.temperature ?? this.options.temperature,
      ...(options.stop?.length ? { stop: [...options.stop] } : {}),
      stream: true as const,
    };
    if (this.options.mode === 'completion') {
      const stream = await client.completions.create({ ...common, prompt }, { signal: options.signal });
      for await (const chunk of stream) if (chunk.choices[0]?.text) yield chunk.choices[0].text;
      return;
    }
    const stream = await client.chat.completions.create({ ...common, messages: [{ role: 'user', content: prompt }] }, { signal: options.signal });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) yield chunk.choices[0].delta.content;
  }
}
