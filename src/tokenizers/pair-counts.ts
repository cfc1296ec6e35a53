/**
 * Incremental pair statistics for the trainers (BPE and WordPiece). A corpus is held as its
 * distinct words, each a list of symbol ids with a count. Merging a pair touches only the
 * words that contain it (an index pair → words), and updates the pair and symbol counts by
 * the difference, instead of recounting the corpus after every merge.
 */

/** Ids stay below 2^21, so a pair key left·2^21 + right is an exact double. */
export const PAIR_STRIDE = 2 ** 21;

export function pairKey(left: number, right: number): number {
  return left * PAIR_STRIDE + right;
}

export function pairLeft(key: number): number {
  return Math.floor(key / PAIR_STRIDE);
}

export function pairRight(key: number): number {
  return key % PAIR_STRIDE;
}

export class WordPairCounts {
  /** How often each adjacent pair occurs in the corpus (words weighted by their count). */
  readonly pairCounts = new Map<number, number>();
  /** How often each symbol occurs in the corpus. */
  readonly symbolCounts = new Map<number, number>();
  /** Words that contain (or once contained) each pair; checked before use. */
  private readonly pairWords = new Map<number, Set<number>>();

  constructor(
    /** words[w] = symbol ids of distinct word w. */
    private readonly words: number[][],
    /** counts[w] = how often word w occurs. */
    private readonly counts: number[],
  ) {
    words.forEach((symbols, w) => this.add(w, symbols, counts[w], true));
  }

  /**
   * Replace every occurrence of (left, right) by merged, left to right without overlap.
   * Returns the pairs whose count grew (the new pairs around merged).
   */
  merge(left: number, right: number, merged: number): number[] {
    const key = pairKey(left, right);
    const grown = new Set<number>();
    for (const w of this.pairWords.get(key) ?? []) {
      const old = this.words[w];
      const next: number[] = [];
      let changed = false;
      for (let i = 0; i < old.length; i++) {
        if (i + 1 < old.length && old[i] === left && old[i + 1] === right) {
          next.push(merged);
          i++;
          changed = true;
        } else next.push(old[i]);
      }
      if (!changed) continue;
      this.add(w, old, -this.counts[w], false);
      this.add(w, next, this.counts[w], true);
      this.words[w] = next;
      for (let i = 0; i + 1 < next.length; i++) if (next[i] === merged || next[i + 1] === merged) grown.add(pairKey(next[i], next[i + 1]));
    }
    this.pairWords.delete(key);
    return [...grown];
  }

  private add(w: number, symbols: number[], count: number, index: boolean): void {
    for (let i = 0; i < symbols.length; i++) {
      this.symbolCounts.set(symbols[i], (this.symbolCounts.get(symbols[i]) ?? 0) + count);
      if (i + 1 === symbols.length) break;
      const key = pairKey(symbols[i], symbols[i + 1]);
      const total = (this.pairCounts.get(key) ?? 0) + count;
      if (total === 0) this.pairCounts.delete(key);
      else this.pairCounts.set(key, total);
      if (index) {
        let set = this.pairWords.get(key);
        if (set === undefined) this.pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  }
}

/** Distinct words of a corpus with their counts, in first-seen order. */
export function countWords(words: Iterable<string>, into = new Map<string, number>()): Map<string, number> {
  for (const word of words) into.set(word, (into.get(word) ?? 0) + 1);
  return into;
}
