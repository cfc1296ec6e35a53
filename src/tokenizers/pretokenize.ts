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
  /**
   * The words of text, as they appear in it. atStart: the text begins the input (no added token
   * before it), for Metaspace's prepend_scheme "first".
   */
  split(text: string, atStart?: boolean): string[];
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

export type PrependScheme = 'always' | 'first' | 'never';

export interface MetaspaceOptions {
  /** The character that stands for a space. Default `'▁'` (U+2581). */
  replacement?: string;
  /** When to put a replacement before the text: always, only at the start of the input, never. Default 'always'. */
  prependScheme?: PrependScheme;
  /** Split before each replacement (each word keeps its leading `▁`). Default true. */
  split?: boolean;
}

/**
 * SentencePiece's pre-tokenizer (Hugging Face `Metaspace`): spaces → `▁`, a `▁` prepended as
 * prepend_scheme says (unless the text already starts with one), then with split the text is cut
 * before each `▁`: `split('Hello  world')` → `['▁Hello', '▁', '▁world']`.
 */
export class MetaspacePreTokenizer implements PreTokenizer {
  readonly replacement: string;
  readonly prependScheme: PrependScheme;
  readonly splitWords: boolean;

  constructor(options: MetaspaceOptions = {}) {
    this.replacement = options.replacement ?? '\u2581';
    this.prependScheme = options.prependScheme ?? 'always';
    this.splitWords = options.split ?? true;
  }

  split(text: string, atStart = true): string[] {
    let replaced = text.replaceAll(' ', this.replacement);
    const prepend = this.prependScheme === 'always' || (this.prependScheme === 'first' && atStart);
    if (prepend && replaced.length > 0 && !replaced.startsWith(this.replacement)) replaced = this.replacement + replaced;
    if (replaced.length === 0) return [];
    if (!this.splitWords) return [replaced];
    // MergedWithNext: each replacement starts a word.
    const words: string[] = [];
    let start = 0;
    for (let i = replaced.indexOf(this.replacement, 1); i > 0; i = replaced.indexOf(this.replacement, i + this.replacement.length)) {
      words.push(replaced.slice(start, i));
      start = i;
    }
    words.push(replaced.slice(start));
    return words;
  }

  toModelAlphabet(word: string): string {
    return word;
  }

  toJSON(): Record<string, unknown> {
    return { type: 'Metaspace', replacement: this.replacement, prepend_scheme: this.prependScheme, split: this.splitWords };
  }
}
