/**
 * Pre-tokenizers: the second stage, normalised text → words. The model never merges across
 * a word boundary, so this decides what a token can span.
 * - GPT-2 (`ByteLevel`): the regex below splits contractions, letters, numbers, other
 *   symbols, and whitespace runs (a run keeps its last space for the next word); each word
 *   is then written in the byte-level alphabet (`' world'` → `'Ġworld'`).
 * - BERT (`BertPreTokenizer`): split on whitespace (dropped) and isolate every punctuation
 *   character.
 */
import { toByteLevel } from './byte-level.ts';

/** One pipeline stage: text → words, each rewritten into the model's alphabet. */
export interface PreTokenizer {
  /** The words of text, as they appear in it. */
  split(text: string): string[];
  /** A word in the model's alphabet (byte-level for GPT-2; unchanged for BERT). */
  toModelAlphabet(word: string): string;
  toJSON(): Record<string, unknown>;
}

/** GPT-2's pre-tokenisation regex (also tiktoken's `gpt2` and Hugging Face's ByteLevel). */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface ByteLevelOptions {
  /** Prepend a space when the text does not start with one (GPT-2: false). */
  addPrefixSpace?: boolean;
  /** Split with the GPT-2 regex; false treats the whole text as one word. Default true. */
  useRegex?: boolean;
  /** Kept only for `tokenizer.json` (offsets are not tracked). Default true. */
  trimOffsets?: boolean;
}

/** GPT-2's pre-tokenizer: `split('Hello world')` → `['Hello', ' world']`. */
export class ByteLevelPreTokenizer implements PreTokenizer {
  readonly addPrefixSpace: boolean;
  readonly useRegex: boolean;
  readonly trimOffsets: boolean;

  constructor(options: ByteLevelOptions = {}) {
    this.addPrefixSpace = options.addPrefixSpace ?? false;
    this.useRegex = options.useRegex ?? true;
    this.trimOffsets = options.trimOffsets ?? true;
  }

  split(text: string): string[] {
    if (this.addPrefixSpace && !text.startsWith(' ')) text = ' ' + text;
    if (!this.useRegex) return text.length > 0 ? [text] : [];
    return text.match(GPT2_SPLIT_PATTERN) ?? [];
  }

  toModelAlphabet(word: string): string {
    return toByteLevel(word);
  }

  toJSON(): Record<string, unknown> {
    return { type: 'ByteLevel', add_prefix_space: this.addPrefixSpace, trim_offsets: this.trimOffsets, use_regex: this.useRegex };
  }
}

// BERT's punctuation: ASCII punctuation (which includes $ + < = > ^ ` | ~, not Unicode "P")
// and every Unicode punctuation character.
const PUNCTUATION = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const BERT_SPLIT_PATTERN = new RegExp(`[^\\s${PUNCTUATION}]+|[${PUNCTUATION}]`, 'gu');

/** BERT's basic tokenizer: `split("Don't stop!")` → `['Don', "'", 't', 'stop', '!']`. */
export class BertPreTokenizer implements PreTokenizer {
  split(text: string): string[] {
    return text.match(BERT_SPLIT_PATTERN) ?? [];
  }

  toModelAlphabet(word: string): string {
    return word;
  }

  toJSON(): Record<string, unknown> {
    return { type: 'BertPreTokenizer' };
  }
}

/** Split on whitespace only (dropped): `'a  b\nc'` → `['a', 'b', 'c']`. */
export class WhitespaceSplitPreTokenizer implements PreTokenizer {
  split(text: string): string[] {
    return text.match(/\S+/gu) ?? [];
  }

  toModelAlphabet(word: string): string {
    return word;
  }

  toJSON(): Record<string, unknown> {
    return { type: 'WhitespaceSplit' };
  }
}
