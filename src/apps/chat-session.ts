/**
 * A conversation with a model: each user turn is rendered with the memory's turns through the
 * chat template (the folder's, or the plain default), the reply streams back piece by piece,
 * and the exchange is recorded in the memory. What `qkv chat` runs.
 *
 * @example
 * const chat = new ChatSession({ llm: new LocalModel({ model, tokenizer }), memory: new WindowMemory(4) });
 * for await (const piece of chat.send('hi')) process.stdout.write(piece);
 */
import { DEFAULT_CHAT_STOP, DEFAULT_CHAT_TEMPLATE, renderChat } from '../adapt/chat-template.ts';
import type { CompleteOptions, LanguageModel } from './language-model.ts';
import type { ConversationMemory, Turn } from './memory.ts';

export interface ChatSessionOptions {
  llm: LanguageModel;
  memory: ConversationMemory;
  /** The chat template; undefined: the plain default (whose replies stop at "\nUser:"). */
  chatTemplate?: string;
  /** A system turn put first in every prompt. */
  system?: string;
  completeOptions?: CompleteOptions;
}

/**
 * Tokens one turn takes in the prompt, as the template renders it and the tokenizer encodes it:
 * the counter `TokenBufferMemory` needs.
 */
export function turnTokenCounter(countTokens: (text: string) => number, chatTemplate?: string): (turn: Turn) => number {
  return (turn) => countTokens(renderChat([turn], chatTemplate ?? DEFAULT_CHAT_TEMPLATE));
}

export class ChatSession {
  constructor(private readonly options: ChatSessionOptions) {}

  /** The prompt the model sees for `userText` after the remembered turns. */
  prompt(userText: string): string {
    const turns: Turn[] = [
      ...(this.options.system ? [{ role: 'system' as const, content: this.options.system }] : []),
      ...this.options.memory.messages(),
      { role: 'user', content: userText },
    ];
    return renderChat(turns, this.options.chatTemplate ?? DEFAULT_CHAT_TEMPLATE, { addGenerationPrompt: true });
  }

  /** Streams the reply to `userText`, then records the exchange. */
  async *send(userText: string): AsyncGenerator<string, string, undefined> {
    const base = this.options.completeOptions ?? {};
    const stop = [...(base.stop ?? []), ...(this.options.chatTemplate === undefined ? DEFAULT_CHAT_STOP : [])];
    let reply = '';
    for await (const piece of this.options.llm.stream(this.prompt(userText), { ...base, stop })) {
      reply += piece;
      yield piece;
    }
    reply = reply.trim();
    await this.options.memory.addExchange(userText, reply);
    return reply;
  }
}
