/**
 * Conversation memories: what of a conversation goes back into the next prompt.
 *
 *   BufferMemory            every turn
 *   WindowMemory(k)         the last k exchanges (a user turn and its reply)
 *   TokenBufferMemory(n)    the newest turns that fit n tokens, counted with the model's tokenizer
 *   SummaryMemory           the last few turns verbatim, older ones folded by the model into a running summary
 *
 * Each saves to and loads from JSON (`memoryToJson` / `memoryFromJson`, `saveMemory` / `loadMemory`).
 *
 * @example
 * const memory = new WindowMemory(2);
 * await memory.addExchange('hi', 'hello');
 * renderChat(memory.messages().concat({ role: 'user', content: 'and now?' }), template, { addGenerationPrompt: true });
 */
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../io/atomic.ts';
import { QkvFormatError } from '../io/errors.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { LanguageModel } from './language-model.ts';
import { PromptTemplate } from './prompt-template.ts';

export interface Turn {
  role: 'user' | 'assistant' | 'system';
  content: string;
}

export interface ConversationMemory {
  /** What to put before the next user turn, oldest first. */
  messages(): Turn[];
  /** Records one exchange; a summary memory may call its model here. */
  addExchange(user: string, assistant: string): Promise<void>;
  clear(): void;
}

/** Every turn, kept as said. */
export class BufferMemory implements ConversationMemory {
  protected turns: Turn[] = [];

  messages(): Turn[] {
    return this.turns.map((t) => ({ ...t }));
  }

  async addExchange(user: string, assistant: string): Promise<void> {
    this.turns.push({ role: 'user', content: user }, { role: 'assistant', content: assistant });
  }

  clear(): void {
    this.turns = [];
  }

  /** All turns recorded, whatever the memory shows (for saving). */
  history(): Turn[] {
    return this.turns.map((t) => ({ ...t }));
  }

  /** Replaces the history (for loading). */
  restore(turns: readonly Turn[]): void {
    this.turns = turns.map((t) => ({ ...t }));
  }
}

/** The last `k` exchanges. */
export class WindowMemory extends BufferMemory {
  constructor(readonly k: number) {
    super();
    if (!Number.isInteger(k) || k < 1) throw new QkvValueError(`WindowMemory: k must be an integer >= 1, got ${k}`);
  }

  override messages(): Turn[] {
    return super.messages().slice(-2 * this.k);
  }
}

/**
 * The newest whole turns whose tokens add up to at most `maxTokens` (`countTokens` counts one
 * turn as the prompt will hold it, e.g. "User: hi\n" through the chat template and the model's
 * tokenizer). A single turn longer than the limit is dropped too: the limit is never exceeded.
 */
export class TokenBufferMemory extends BufferMemory {
  constructor(
    readonly maxTokens: number,
    readonly countTokens: (turn: Turn) => number,
  ) {
    super();
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new QkvValueError(`TokenBufferMemory: maxTokens must be an integer >= 1, got ${maxTokens}`);
  }

  override messages(): Turn[] {
    const all = super.messages();
    let total = 0;
    let start = all.length;
    while (start > 0) {
      const cost = this.countTokens(all[start - 1]);
      if (total + cost > this.maxTokens) break;
      total += cost;
      start--;
    }
    return all.slice(start);
  }

  /** Tokens the shown turns take. */
  tokenCount(): number {
    return this.messages().reduce((sum, turn) => sum + this.countTokens(turn), 0);
  }
}

/** What SummaryMemory asks its model, after LangChain's summary prompt. */
export const SUMMARY_PROMPT = new PromptTemplate(
  'Progressively summarize the lines of conversation provided, adding onto the previous summary and returning a new summary.\n\n' +
    'Current summary:\n{summary}\n\nNew lines of conversation:\n{new_lines}\n\nNew summary:',
);

/**
 * The last `keepExchanges` exchanges verbatim; older ones are folded, as they fall out of that
 * window, into a running summary written by `llm` (shown as a system turn).
 */
export class SummaryMemory extends BufferMemory {
  summary = '';
  /** Turns already folded into the summary. */
  private summarised = 0;

  constructor(
    readonly llm: LanguageModel,
    readonly keepExchanges = 2,
    readonly prompt: PromptTemplate = SUMMARY_PROMPT,
  ) {
    super();
    if (!Number.isInteger(keepExchanges) || keepExchanges < 0) throw new QkvValueError(`SummaryMemory: keepExchanges must be an integer >= 0, got ${keepExchanges}`);
  }

  override messages(): Turn[] {
    const recent = this.turns.slice(this.summarised).map((t) => ({ ...t }));
    return this.summary ? [{ role: 'system', content: `Summary of the conversation so far: ${this.summary}` }, ...recent] : recent;
  }

  override async addExchange(user: string, assistant: string): Promise<void> {
    await super.addExchange(user, assistant);
    const foldUpTo = this.turns.length - 2 * this.keepExchanges;
    if (foldUpTo <= this.summarised) return;
    const newLines = this.turns
      .slice(this.summarised, foldUpTo)
      .map((t) => `${t.role === 'user' ? 'Human' : 'AI'}: ${t.content}`)
      .join('\n');
    this.summary = (await this.llm.complete(this.prompt.format({ summary: this.summary, new_lines: newLines }))).trim();
    this.summarised = foldUpTo;
  }

  override clear(): void {
    super.clear();
    this.summary = '';
    this.summarised = 0;
  }

  /** For loading: the summary and how many turns it covers. */
  restoreSummary(summary: string, summarisedTurns: number): void {
    this.summary = summary;
    this.summarised = summarisedTurns;
  }

  get summarisedTurns(): number {
    return this.summarised;
  }
}

/** A memory as JSON: its kind, its settings and the whole history. */
export interface MemoryJson {
  type: 'buffer' | 'window' | 'tokens' | 'summary';
  k?: number;
  max_tokens?: number;
  keep_exchanges?: number;
  summary?: string;
  summarised_turns?: number;
  messages: Turn[];
}

export function memoryToJson(memory: BufferMemory): MemoryJson {
  const messages = memory.history();
  if (memory instanceof WindowMemory) return { type: 'window', k: memory.k, messages };
  if (memory instanceof TokenBufferMemory) return { type: 'tokens', max_tokens: memory.maxTokens, messages };
  if (memory instanceof SummaryMemory) {
    return { type: 'summary', keep_exchanges: memory.keepExchanges, summary: memory.summary, summarised_turns: memory.summarisedTurns, messages };
  }
  return { type: 'buffer', messages };
}

/** What rebuilding a memory may need: the model (summary) and the token counter (tokens). */
export interface MemoryDependencies {
  llm?: LanguageModel;
  countTokens?: (turn: Turn) => number;
}

export function memoryFromJson(json: MemoryJson, dependencies: MemoryDependencies = {}, file = '<memory json>'): BufferMemory {
  if (!Array.isArray(json.messages) || json.messages.some((m) => !['user', 'assistant', 'system'].includes(m?.role) || typeof m.content !== 'string')) {
    throw new QkvFormatError(file, 'expected a list of { role: "user"|"assistant"|"system", content: string }', 'messages');
  }
  let memory: BufferMemory;
  switch (json.type) {
    case 'buffer':
      memory = new BufferMemory();
      break;
    case 'window':
      memory = new WindowMemory(Number(json.k));
      break;
    case 'tokens':
      if (!dependencies.countTokens) throw new QkvValueError(`${file}: a token memory needs countTokens (the model's tokenizer) to load`);
      memory = new TokenBufferMemory(Number(json.max_tokens), dependencies.countTokens);
      break;
    case 'summary': {
      if (!dependencies.llm) throw new QkvValueError(`${file}: a summary memory needs llm (the model that summarises) to load`);
      const summary = new SummaryMemory(dependencies.llm, Number(json.keep_exchanges ?? 2));
      summary.restore(json.messages);
      summary.restoreSummary(json.summary ?? '', Number(json.summarised_turns ?? 0));
      return summary;
    }
    default:
      throw new QkvFormatError(file, `unknown memory type ${JSON.stringify(json.type)} (expected buffer, window, tokens or summary)`, 'type');
  }
  memory.restore(json.messages);
  return memory;
}

/** Writes `memory` to `path` as JSON (atomically). */
export function saveMemory(path: string, memory: BufferMemory): void {
  writeJsonAtomic(path, memoryToJson(memory));
}

export function loadMemory(path: string, dependencies: MemoryDependencies = {}): BufferMemory {
  return memoryFromJson(JSON.parse(readFileSync(path, 'utf8')) as MemoryJson, dependencies, path);
}

/**
 * A memory from its CLI spelling: `buffer`, `window:4`, `tokens:512`, `summary` (or `summary:2`
 * exchanges kept verbatim).
 */
export function memoryFromSpec(spec: string, dependencies: MemoryDependencies = {}): BufferMemory {
  const [kind, arg] = spec.split(':');
  const number = (fallback?: number) => {
    if (arg === undefined && fallback !== undefined) return fallback;
    const n = Number(arg);
    if (!Number.isInteger(n) || n < 1) throw new QkvValueError(`--memory ${spec}: expected ${kind}:N with N an integer >= 1`);
    return n;
  };
  switch (kind) {
    case 'buffer':
      return new BufferMemory();
    case 'window':
      return new WindowMemory(number(4));
    case 'tokens':
      if (!dependencies.countTokens) throw new QkvValueError(`--memory ${spec}: needs the model's tokenizer`);
      return new TokenBufferMemory(number(512), dependencies.countTokens);
    case 'summary':
      if (!dependencies.llm) throw new QkvValueError(`--memory ${spec}: needs a model to summarise with`);
      return new SummaryMemory(dependencies.llm, number(2));
    default:
      throw new QkvValueError(`--memory ${spec}: expected buffer, window:K, tokens:N or summary`);
  }
}
