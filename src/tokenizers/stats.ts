/**
 * Measures of a tokenizer on a text, for tests, the CLI and the lab: compression (UTF-8 bytes
 * per token) and out-of-vocabulary rates of a word-level vocabulary vs a subword tokenizer.
 */
import { wtf8Length } from './byte-level.ts';
import type { Tokenizer } from './tokenizer.ts';

/** UTF-8 bytes of text per token (no special tokens): higher is better compression. */
export function bytesPerToken(tokenizer: Tokenizer, text: string): number {
  const tokens = tokenizer.encodeIds(text).length;
  return tokens === 0 ? 0 : wtf8Length(text) / tokens;
}

/** The `size` most frequent words (ties: first seen), a word-level vocabulary. */
export function wordLevelVocabulary(words: Iterable<string>, size: number): Set<string> {
  const counts = new Map<string, number>();
  for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
  return new Set([...counts].sort((a, b) => b[1] - a[1]).slice(0, size).map(([word]) => word));
}

/** Fraction of words (occurrences) that are not in vocabulary. */
export function outOfVocabularyRate(words: readonly string[], vocabulary: ReadonlySet<string>): number {
  if (words.length === 0) return 0;
  let missing = 0;
  for (const word of words) if (!vocabulary.has(word)) missing++;
  return missing / words.length;
}

/**
 * Fraction of the words of text (after the tokenizer's normalisation and pre-tokenisation)
 * that the tokenizer encodes with its unknown token: a subword tokenizer's OOV rate.
 */
export function unknownWordRate(tokenizer: Tokenizer, text: string): number {
  const unk = tokenizer.model.unkToken;
  const unkId = unk === null ? undefined : tokenizer.tokenToId(unk);
  const words = tokenizer.preTokenize(text);
  if (words.length === 0 || unkId === undefined) return 0;
  let unknown = 0;
  for (const word of words) if (tokenizer.encodeIds(word).includes(unkId)) unknown++;
  return unknown / words.length;
}
