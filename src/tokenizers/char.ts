/**
 * The simplest tokenizer: one token per character (Unicode code point), the vocabulary being
 * the characters of a training text. What the GPT trainer uses on a small corpus (Karpathy's
 * "tiny Shakespeare" setup). It is a `Tokenizer` like the others, and saves to `tokenizer.json`
 * as a BPE model with no merges (each character its own token, unknown ones → `unk_token`)
 * and a `Fuse` decoder, which Hugging Face loads as it is.
 *
 * ```ts
 * const chars = trainCharTokenizer(text);      // vocab: sorted characters of text
 * chars.encodeIds('hi');                       // [id('h'), id('i')]
 * ```
 */
import { BpeModel } from './bpe.ts';
import { FuseDecoder } from './decoder.ts';
import { Tokenizer } from './tokenizer.ts';

export interface CharTokenizerOptions {
  /** Tokens placed first (ids 0, 1, …), never split, e.g. `<|endoftext|>`. Default none. */
  specialTokens?: readonly string[];
  /** Token for characters not seen in training; null makes them an error. Default `<unk>`. */
  unkToken?: string | null;
}

/** A character-level tokenizer whose vocabulary is the characters of texts, in code-point order. */
export function trainCharTokenizer(texts: string | Iterable<string>, options: CharTokenizerOptions = {}): Tokenizer {
  const chars = new Set<string>();
  for (const text of typeof texts === 'string' ? [texts] : texts) for (const ch of text) chars.add(ch);
  return charTokenizerFromAlphabet([...chars], options);
}

/** A character-level tokenizer over a given alphabet (order kept after the special tokens). */
export function charTokenizerFromAlphabet(alphabet: readonly string[], options: CharTokenizerOptions = {}): Tokenizer {
  const specialTokens = options.specialTokens ?? [];
  const unkToken = options.unkToken === undefined ? '<unk>' : options.unkToken;
  const sorted = [...new Set(alphabet)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const tokens = [...specialTokens, ...(unkToken === null ? [] : [unkToken]), ...sorted];
  const vocab = new Map<string, number>();
  for (const token of tokens) if (!vocab.has(token)) vocab.set(token, vocab.size);
  const specials = [...specialTokens, ...(unkToken === null ? [] : [unkToken])];
  return new Tokenizer({
    model: new BpeModel({ vocab, merges: [], unkToken }),
    decoder: new FuseDecoder(),
    addedTokens: specials.map((content) => ({ id: vocab.get(content)!, content, special: true })),
  });
}
