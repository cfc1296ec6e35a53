/**
 * Chat templates: a list of `{role, content}` messages rendered to the one string a causal LM
 * reads, with the model folder's Jinja template (Hugging Face's `chat_template`, through
 * `@huggingface/jinja`, the renderer transformers.js uses), or a plain default.
 *
 * Where a folder keeps its template (as transformers does): `chat_template.jinja` (newer), else
 * the `chat_template` field of `tokenizer_config.json` (a string, or a list of named templates of
 * which "default" is taken).
 *
 * @example
 * renderChat([{ role: 'user', content: 'Hi' }], undefined, { addGenerationPrompt: true });
 * // 'User: Hi\nAssistant: '
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { readJsonObject } from '../io/config.ts';
import { QkvFormatError } from '../io/errors.ts';
import { QkvValueError } from '../tensor/errors.ts';

export interface ChatMessage {
  role: string;
  content: string;
}

/**
 * The template used when a folder has none: `User: …` / `Assistant: …` lines (other roles as
 * written), and `Assistant: ` as the generation prompt. Plain text, so a character-level
 * tokenizer trained on the data can encode it.
 */
export const DEFAULT_CHAT_TEMPLATE =
  "{% for message in messages %}" +
  "{% if message['role'] == 'user' %}User{% elif message['role'] == 'assistant' %}Assistant{% elif message['role'] == 'system' %}System{% else %}{{ message['role'] }}{% endif %}" +
  ": {{ message['content'] }}\n{% endfor %}" +
  "{% if add_generation_prompt %}Assistant: {% endif %}";

/** Where a reply under the default template ends: the next user turn begins. */
export const DEFAULT_CHAT_STOP: readonly string[] = ['\nUser:'];

export interface RenderChatOptions {
  /** End with the opening of an assistant turn, for generation (HF's `add_generation_prompt`). */
  addGenerationPrompt?: boolean;
  /** The tokenizer's end-of-sequence text, as templates read it (`eos_token`); default ''. */
  eosToken?: string;
  /** Extra variables templates read (`bos_token`, …). */
  variables?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

/**
 * Renders `messages` with `templateSource` (default: `DEFAULT_CHAT_TEMPLATE`), exactly as
 * `tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=…)` does.
 */
export function renderChat(messages: readonly ChatMessage[], templateSource: string = DEFAULT_CHAT_TEMPLATE, options: RenderChatOptions = {}): string {
  let template = compiled.get(templateSource);
  if (template === undefined) {
    try {
      template = new Template(templateSource);
    } catch (error) {
      throw new QkvValueError(`chat template does not parse: ${(error as Error).message}`);
    }
    compiled.set(templateSource, template);
  }
  return template.render({
    bos_token: '',
    eos_token: options.eosToken ?? '',
    ...options.variables,
    messages,
    add_generation_prompt: options.addGenerationPrompt ?? false,
  });
}

/** The chat template of a model folder, or null when it has none (then the default applies). */
export function readChatTemplate(modelDir: string): string | null {
  const jinjaPath = join(modelDir, 'chat_template.jinja');
  if (existsSync(jinjaPath)) return readFileSync(jinjaPath, 'utf8');
  const configPath = join(modelDir, 'tokenizer_config.json');
  if (!existsSync(configPath)) return null;
  const template = readJsonObject(configPath).chat_template;
  if (template === undefined || template === null) return null;
  if (typeof template === 'string') return template;
  if (Array.isArray(template)) {
    const named = template.find((entry) => entry?.name === 'default') ?? template[0];
    if (typeof named?.template === 'string') return named.template;
  }
  throw new QkvFormatError(configPath, 'expected a template string or a list of {name, template}', 'field "chat_template"');
}

/** A piece of rendered chat text and whether the model is trained to produce it (assistant turns). */
export interface ChatSegment {
  text: string;
  trainable: boolean;
}

/**
 * Splits a rendered conversation into prompt and assistant parts, so the loss can cover the
 * assistant's tokens only: each assistant turn is what rendering up to it adds after rendering
 * the turns before it with the generation prompt. Throws when the template is not prefix-stable
 * (a later turn rewrites earlier text), where no such split exists.
 */
export function chatSegments(messages: readonly ChatMessage[], templateSource?: string, variables?: Record<string, unknown>): ChatSegment[] {
  const segments: ChatSegment[] = [];
  let done = '';
  messages.forEach((message, index) => {
    if (message.role !== 'assistant') return;
    const prompt = renderChat(messages.slice(0, index), templateSource, { addGenerationPrompt: true, variables });
    const withReply = renderChat(messages.slice(0, index + 1), templateSource, { variables });
    if (!prompt.startsWith(done) || !withReply.startsWith(prompt)) {
      throw new QkvValueError(`chat template is not prefix-stable at message ${index}: the assistant turn cannot be separated from the prompt`);
    }
    if (prompt.length > done.length) segments.push({ text: prompt.slice(done.length), trainable: false });
    segments.push({ text: withReply.slice(prompt.length), trainable: true });
    done = withReply;
  });
  const full = renderChat(messages, templateSource, { variables });
  if (!full.startsWith(done)) throw new QkvValueError('chat template is not prefix-stable: the full rendering does not extend its prefixes');
  if (full.length > done.length) segments.push({ text: full.slice(done.length), trainable: false });
  return segments;
}
