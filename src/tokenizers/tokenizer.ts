/**
 * The tokenizer pipeline, in Hugging Face's shape:
 *
 *   text ─ added tokens split out ─ normalizer ─ pre-tokenizer ─ model ─ post-processor ─ ids
 *   ids ─ tokens ─ decoder ─ text
 *
 * Added (special) tokens such as `<|endoftext|>` or `[SEP]` are cut out of the raw text first,
 * so they are never split or normalised. The model's answer for each word is cached.
 *
 * ```ts
 * const gpt2 = loadGpt2Tokenizer();
 * gpt2.encode('Hello world').ids;          // [15496, 995]
 * gpt2.decode([15496, 995]);               // 'Hello world'
 * bert.enableTruncation(128); bert.enablePadding({ length: 128 });
 * bert.encodeBatch([['Is it?', 'It is.']]) // ids, typeIds, attentionMask of length 128
 * ```
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Decoder } from './decoder.ts';
import type { TokenizerModel } from './model.ts';
import type { Normalizer } from './normalizer.ts';
import { ByteLevelPostProcessor, type PostProcessor, type TokenSequence } from './post-processor.ts';
import type { PreTokenizer } from './pretokenize.ts';
import { padEncoding, type PaddingOptions, type PaddingSettings, truncatePair, type TruncationOptions } from './truncation.ts';

export type { PaddingOptions, TruncationOptions } from './truncation.ts';

/** A token added to the vocabulary and matched in raw text before anything else. */
export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens (`[CLS]`, `<|endoftext|>`) can be skipped when decoding. */
  special: boolean;
}

/** The result of encoding one text (or pair). All arrays have the same length. */
export interface Encoding {
  ids: number[];
  tokens: string[];
  /** Segment ids: 0 for the first sequence, 1 for the second (BERT). */
  typeIds: number[];
  /** 1 for a real token, 0 for padding. */
  attentionMask: number[];
  /** 1 for tokens added by the post-processor or padding. */
  specialTokensMask: number[];
}

export interface TokenizerParts {
  model: TokenizerModel;
  normalizer?: Normalizer | null;
  preTokenizer?: PreTokenizer | null;
  postProcessor?: PostProcessor | null;
  decoder?: Decoder | null;
  addedTokens?: readonly AddedToken[];
}

/** Words longer than this are not cached (as in Hugging Face): a long word is rare. */
const MAX_CACHED_WORD_LENGTH = 256;
const CACHE_CAPACITY = 100_000;

export class Tokenizer {
  readonly model: TokenizerModel;
  readonly normalizer: Normalizer | null;
  readonly preTokenizer: PreTokenizer | null;
  readonly postProcessor: PostProcessor | null;
  readonly decoder: Decoder | null;
  readonly addedTokens: readonly AddedToken[];
  truncation: Required<TruncationOptions> | null = null;
  padding: PaddingSettings | null = null;

  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedPattern: RegExp | null;
  private readonly wordCache = new Map<string, number[]>();

  constructor(parts: TokenizerParts) {
    this.model = parts.model;
    this.normalizer = parts.normalizer ?? null;
    this.preTokenizer = parts.preTokenizer ?? null;
    this.postProcessor = parts.postProcessor ?? null;
    this.decoder = parts.decoder ?? null;
    this.addedTokens = (parts.addedTokens ?? []).map((t) => ({ ...t }));
    for (const token of this.addedTokens) {
      if (token.content.length === 0) throw new QkvValueError('Tokenizer: an added token is empty');
      this.addedByContent.set(token.content, token);
      this.addedById.set(token.id, token);
    }
    // Longest first, so `<|im_start|>` wins over a shorter token that is its prefix.
    const contents = [...this.addedByContent.keys()].sort((a, b) => b.length - a.length);
    this.addedPattern = contents.length === 0 ? null : new RegExp(contents.map(escapeRegExp).join('|'), 'gu');
  }

  /** One more than the largest id, added tokens included. */
  get vocabSize(): number {
    let size = this.model.vocabSize;
    for (const id of this.addedById.keys()) size = Math.max(size, id + 1);
    return size;
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.model.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken(id);
  }

  /** Truncate every encoding to maxLength tokens (special tokens included). */
  enableTruncation(maxLength: number, options: Omit<TruncationOptions, 'maxLength'> = {}): this {
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new QkvValueError(`enableTruncation: maxLength must be a positive integer, got ${maxLength}`);
    this.truncation = { maxLength, strategy: options.strategy ?? 'longest_first', direction: options.direction ?? 'right' };
    return this;
  }

  noTruncation(): this {
    this.truncation = null;
    return this;
  }

  /** Pad encodings (to `length`, or in a batch to its longest), with attention mask 0. */
  enablePadding(options: PaddingOptions = {}): this {
    const padToken = options.padToken ?? (options.padId !== undefined ? this.idToToken(options.padId) : undefined) ?? '[PAD]';
    const padId = options.padId ?? this.tokenToId(padToken);
    if (padId === undefined) throw new QkvValueError(`enablePadding: pad token ${JSON.stringify(padToken)} is not in the vocabulary; pass padId`);
    this.padding = {
      length: options.length,
      padToMultipleOf: options.padToMultipleOf,
      padId,
      padTypeId: options.padTypeId ?? 0,
      padToken,
      direction: options.direction ?? 'right',
    };
    return this;
  }

  noPadding(): this {
    this.padding = null;
    return this;
  }

  /** Ids only, no post-processing, truncation or padding: the fast path. */
  encodeIds(text: string): number[] {
    const ids: number[] = [];
    this.encodeText(text, ids, null);
    return ids;
  }

  /** Encode a text, or a pair (BERT's sentence A and B), with the configured truncation and padding. */
  encode(text: string, pair: string | null = null, options: { addSpecialTokens?: boolean } = {}): Encoding {
    const encoding = this.encodeUnpadded(text, pair, options.addSpecialTokens ?? true);
    if (this.padding !== null) padEncoding(encoding, this.padding.length ?? encoding.ids.length, this.padding);
    return encoding;
  }

  /** Encode many texts or pairs; padding (if enabled) goes to `length` or to the longest. */
  encodeBatch(inputs: ReadonlyArray<string | readonly [string, string]>, options: { addSpecialTokens?: boolean } = {}): Encoding[] {
    const encodings = inputs.map((input) =>
      typeof input === 'string' ? this.encodeUnpadded(input, null, options.addSpecialTokens ?? true) : this.encodeUnpadded(input[0], input[1], options.addSpecialTokens ?? true),
    );
    if (this.padding !== null) {
      const length = this.padding.length ?? Math.max(0, ...encodings.map((e) => e.ids.length));
      for (const encoding of encodings) padEncoding(encoding, length, this.padding);
    }
    return encodings;
  }

  /** Text of ids. Unknown ids throw; special tokens can be skipped. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (added !== undefined) {
        if (!(added.special && options.skipSpecialTokens)) tokens.push(added.content);
        continue;
      }
      const token = this.model.idToToken(id);
      if (token === undefined) throw new QkvValueError(`decode: id ${id} is not in the vocabulary (size ${this.vocabSize})`);
      tokens.push(token);
    }
    // Without a decoder Hugging Face joins tokens with spaces.
    return this.decoder === null ? tokens.join(' ') : this.decoder.decode(tokens);
  }

  /** The words of a text after normalisation and pre-tokenisation (what the model sees). */
  preTokenize(text: string): string[] {
    const words: string[] = [];
    let atStart = true;
    for (const segment of this.segments(text)) {
      const first = atStart;
      atStart = false;
      if (typeof segment !== 'string') continue;
      const normalized = this.normalizer === null ? segment : this.normalizer.normalize(segment);
      if (this.preTokenizer === null) {
        if (normalized.length > 0) words.push(normalized);
      } else for (const word of this.preTokenizer.split(normalized, first)) words.push(word);
    }
    return words;
  }

  /** Forget the per-word cache (for benchmarks that measure a cold start). */
  clearCache(): void {
    this.wordCache.clear();
  }

  private encodeUnpadded(text: string, pair: string | null, addSpecialTokens: boolean): Encoding {
    const a: TokenSequence = { ids: [], tokens: [] };
    this.encodeText(text, a.ids, a.tokens);
    let b: TokenSequence | null = null;
    if (pair !== null) {
      b = { ids: [], tokens: [] };
      this.encodeText(pair, b.ids, b.tokens);
    }
    const processor = this.postProcessor ?? DEFAULT_POST_PROCESSOR;
    if (this.truncation !== null) {
      const room = this.truncation.maxLength - (addSpecialTokens ? processor.addedTokenCount(b !== null) : 0);
      truncatePair(a, b, Math.max(0, room), this.truncation);
    }
    const processed = processor.process(a, b, addSpecialTokens);
    return { ...processed, attentionMask: new Array(processed.ids.length).fill(1) };
  }

  private encodeText(text: string, ids: number[], tokens: string[] | null): void {
    // Metaspace's prepend_scheme "first": only the text before any added token begins the input.
    let atStart = true;
    for (const segment of this.segments(text)) {
      if (typeof segment !== 'string') {
        ids.push(segment.id);
        tokens?.push(segment.content);
        atStart = false;
        continue;
      }
      const start = ids.length;
      const normalized = this.normalizer === null ? segment : this.normalizer.normalize(segment);
      if (this.preTokenizer === null) {
        if (normalized.length > 0) this.encodeWord(normalized, null, ids);
      } else {
        const words = this.preTokenizer.split(normalized, atStart);
        atStart = false;
        for (let w = 0; w < words.length; w++) this.encodeWord(words[w], this.preTokenizer, ids);
      }
      if (tokens !== null) for (let i = start; i < ids.length; i++) tokens.push(this.model.idToToken(ids[i])!);
    }
  }

  private encodeWord(word: string, preTokenizer: PreTokenizer | null, ids: number[]): void {
    const cached = this.wordCache.get(word);
    if (cached !== undefined) {
      for (let i = 0; i < cached.length; i++) ids.push(cached[i]);
      return;
    }
    const start = ids.length;
    this.model.tokenizeWord(preTokenizer === null ? word : preTokenizer.toModelAlphabet(word), ids);
    if (word.length <= MAX_CACHED_WORD_LENGTH) {
      if (this.wordCache.size >= CACHE_CAPACITY) this.wordCache.clear();
      this.wordCache.set(word, ids.slice(start));
    }
  }

  /** Raw text cut at added tokens: strings to encode, and the added tokens themselves. */
  private *segments(text: string): Generator<string | AddedToken> {
    if (this.addedPattern === null) {
      if (text.length > 0) yield text;
      return;
    }
    let last = 0;
    for (const match of text.matchAll(this.addedPattern)) {
      if (match.index > last) yield text.slice(last, match.index);
      yield this.addedByContent.get(match[0])!;
      last = match.index + match[0].length;
    }
    if (last < text.length) yield text.slice(last);
  }
}

const DEFAULT_POST_PROCESSOR = new ByteLevelPostProcessor();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&');
}
