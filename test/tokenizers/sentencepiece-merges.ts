/**
 * A SentencePiece-style BPE vocabulary learnt from text, for the Llama tokenizer tests and bench:
 * words as SentencePiece sees them ("▁" before each), keeping only letters and . , ' so that
 * digits, tabs, accents, CJK and emoji must fall back to bytes; greedy merges by pair count
 * (ties to the smaller pair, so the result does not depend on Map order).
 */
import { SPACE_SYMBOL } from '../../src/tokenizers/sentencepiece.ts';

export interface SentencePieceMerges {
  /** Merged pieces in merge order (the first is the most frequent pair). */
  merged: string[];
  /** The single characters of the kept words, sorted. */
  alphabet: string[];
}

export function learnSentencePieceMerges(text: string, merges: number): SentencePieceMerges {
  const counts = new Map<string, number>();
  for (const word of text.split(/\s+/)) {
    const kept = word.replace(/[^A-Za-z.,']/g, '');
    if (kept.length > 0) counts.set(SPACE_SYMBOL + kept, (counts.get(SPACE_SYMBOL + kept) ?? 0) + 1);
  }
  let words = [...counts].map(([word, count]) => ({ symbols: Array.from(word), count }));
  const alphabet = [...new Set(words.flatMap((w) => w.symbols))].sort();
  const merged: string[] = [];
  for (let m = 0; m < merges; m++) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const pair = symbols[i] + '\0' + symbols[i + 1];
        pairs.set(pair, (pairs.get(pair) ?? 0) + count);
      }
    }
    let best = '';
    let bestCount = 0;
    for (const [pair, count] of pairs) {
      if (count > bestCount || (count === bestCount && pair < best)) [best, bestCount] = [pair, count];
    }
    if (bestCount < 2) break;
    const [a, b] = best.split('\0');
    merged.push(a + b);
    words = words.map(({ symbols, count }) => {
      const out: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(symbols[i]);
      }
      return { symbols: out, count };
    });
  }
  return { merged, alphabet };
}
