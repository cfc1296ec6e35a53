/**
 * Training a byte-level BPE from text, as Hugging Face's `BpeTrainer` does it: the vocabulary
 * starts as the special tokens, then the 256 byte characters; then, until the target size,
 * the most frequent adjacent pair (ties: the smaller pair of ids) is merged into a new token.
 * Pair counts are updated incrementally (`pair-counts.ts`) and kept in a max-heap whose stale
 * entries are re-checked when popped, so each merge costs the words it touches.
 *
 * ```ts
 * const tokenizer = trainBpe([corpus], { vocabSize: 2000, specialTokens: ['<|endoftext|>'] });
 * ```
 */
import { QkvValueError } from '../tensor/errors.ts';
import { byteLevelAlphabet } from './byte-level.ts';
import { BpeModel } from './bpe.ts';
import { ByteLevelDecoder } from './decoder.ts';
import { countWords, pairLeft, pairRight, WordPairCounts } from './pair-counts.ts';
import { ByteLevelPostProcessor } from './post-processor.ts';
import { ByteLevelPreTokenizer } from './pretokenize.ts';
import { Tokenizer } from './tokenizer.ts';

/** Chat markers that the trainers reserve by default, next to `<|endoftext|>`. */
export const CHAT_SPECIAL_TOKENS = ['<|im_start|>', '<|im_end|>'] as const;

export interface BpeTrainerOptions {
  /** Final vocabulary size, special tokens and the 256 bytes included. */
  vocabSize: number;
  /** A pair seen fewer times than this is never merged. Default 2. */
  minFrequency?: number;
  /** Never split; ids 0, 1, …. Default `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`. */
  specialTokens?: readonly string[];
  /** Called after each merge with (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

/** Train a GPT-2-style byte-level BPE tokenizer on texts. */
export function trainBpe(texts: Iterable<string>, options: BpeTrainerOptions): Tokenizer {
  const specialTokens = options.specialTokens ?? ['<|endoftext|>', ...CHAT_SPECIAL_TOKENS];
  const minFrequency = options.minFrequency ?? 2;
  const alphabet = byteLevelAlphabet().sort();
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < specialTokens.length + alphabet.length) {
    throw new QkvValueError(`trainBpe: vocabSize must be an integer ≥ ${specialTokens.length + alphabet.length} (special tokens + 256 bytes), got ${options.vocabSize}`);
  }

  // Words are counted in their raw form; special tokens are cut out first so they never
  // contribute merges.
  const preTokenizer = new ByteLevelPreTokenizer();
  const splitter = new Tokenizer({ model: new BpeModel({ vocab: new Map(), merges: [] }), preTokenizer, addedTokens: specialTokens.map((content, id) => ({ id, content, special: true })) });
  const wordCounts = new Map<string, number>();
  for (const text of texts) countWords(splitter.preTokenize(text), wordCounts);

  const tokens: string[] = [...specialTokens, ...alphabet];
  const vocab = new Map<string, number>(tokens.map((token, id) => [token, id]));
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    words.push([...preTokenizer.toModelAlphabet(word)].map((ch) => vocab.get(ch)!));
    counts.push(count);
  }
  const stats = new WordPairCounts(words, counts);

  const heap = new PairHeap();
  for (const [key, count] of stats.pairCounts) heap.push(count, key);
  const merges: [string, string][] = [];
  const wanted = options.vocabSize - tokens.length;
  while (tokens.length < options.vocabSize && heap.size > 0) {
    const top = heap.pop();
    const count = stats.pairCounts.get(top.key) ?? 0;
    if (count !== top.count) {
      // Stale: the pair lost occurrences since it was pushed; requeue at its true count.
      if (count > 0) heap.push(count, top.key);
      continue;
    }
    if (count < minFrequency) break;
    const left = pairLeft(top.key);
    const right = pairRight(top.key);
    const merged = tokens[left] + tokens[right];
    // Two merge paths can spell the same token; it keeps its first id.
    let mergedId = vocab.get(merged);
    if (mergedId === undefined) {
      mergedId = tokens.length;
      tokens.push(merged);
      vocab.set(merged, mergedId);
    }
    merges.push([tokens[left], tokens[right]]);
    for (const key of stats.merge(left, right, mergedId)) heap.push(stats.pairCounts.get(key) ?? 0, key);
    options.onProgress?.(Math.min(merges.length, wanted), wanted);
  }
  options.onProgress?.(wanted, wanted);

  return new Tokenizer({
    model: new BpeModel({ vocab, merges }),
    preTokenizer,
    postProcessor: new ByteLevelPostProcessor(),
    decoder: new ByteLevelDecoder(),
    addedTokens: specialTokens.map((content, id) => ({ id, content, special: true })),
  });
}

/** Max-heap of (count, pair key); ties go to the smaller key, as Hugging Face's trainer does. */
export class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let k = this.counts.length - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.before(k, parent)) break;
      this.swap(k, parent);
      k = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let k = 0;
      for (;;) {
        let best = k;
        const l = 2 * k + 1;
        if (l < this.counts.length && this.before(l, best)) best = l;
        if (l + 1 < this.counts.length && this.before(l + 1, best)) best = l + 1;
        if (best === k) break;
        this.swap(k, best);
        k = best;
      }
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    return this.counts[a] > this.counts[b] || (this.counts[a] === this.counts[b] && this.keys[a] < this.keys[b]);
  }

  private swap(a: number, b: number): void {
    [this.counts[a], this.counts[b]] = [this.counts[b], this.counts[a]];
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
  }
}
