/**
 * The BPE model: a vocabulary and an ordered list of merges. A word starts as its characters
 * and the pair whose merge has the lowest rank is merged, again and again, until no adjacent
 * pair has a merge. Reference: GPT-2's `encoder.py` `bpe()` and Hugging Face's `BPE` model.
 *
 * Fast path: merge ranks live in a typed-array hash table keyed by the pair of ids, and the
 * merge loop is a binary heap of (rank, position) over a linked list of symbols, so a word of
 * n symbols costs O(n log n), not a rescan of the word (or of the merge list) per merge.
 * The pipeline caches the result per word.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { invertVocab, type TokenizerModel } from './model.ts';
import { PairRanks } from './pair-ranks.ts';

export interface BpeOptions {
  /** token → id. */
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order: [left, right]; left + right must be in the vocabulary. */
  merges: ReadonlyArray<readonly [string, string]>;
  /** Token for characters outside the vocabulary; null (byte-level BPE never needs one) throws instead. */
  unkToken?: string | null;
  /** A character outside the vocabulary becomes its UTF-8 bytes' `<0xNN>` tokens (SentencePiece / Llama), before unk_token. */
  byteFallback?: boolean;
  /** Consecutive unk_tokens become one (Hugging Face's fuse_unk). */
  fuseUnk?: boolean;
}

/**
 * The same model with the merges already resolved to ids, for loaders that have checked every
 * token themselves (`tokenizer.json`): no string pairs are built and nothing is looked up twice.
 * The vocab Map and the arrays are taken over, not copied.
 */
export interface BpeIdOptions {
  /** token → id (each id used once). */
  vocab: Map<string, number>;
  /** id → token, the inverse of vocab (holes undefined). */
  tokens: string[];
  /** Merges in rank order as (left id, right id, merged id) triples: length 3 · merges. */
  mergeIds: Int32Array;
  unkToken?: string | null;
  byteFallback?: boolean;
  fuseUnk?: boolean;
}

/** Byte-pair encoding: `new BpeModel({ vocab, merges }).tokenizeWord('Ġworld', ids)`. */
export class BpeModel implements TokenizerModel {
  readonly type = 'BPE' as const;
  readonly unkToken: string | null;
  readonly byteFallback: boolean;
  readonly fuseUnk: boolean;
  /** byteIds[b] = id of `<0xNN>` for byte b, or -1 (filled only with byteFallback). */
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly vocab: Map<string, number>;
  private readonly tokens: string[];
  private readonly unkId: number;
  /** (left, right) → rank of the merge. */
  private readonly mergeRanks: PairRanks;
  /** mergedId[rank] = id of the token the merge of that rank produces. */
  private readonly mergedId: Int32Array;
  private readonly mergeIds: Int32Array;
  /** The merges as string pairs: given, or made from mergeIds the first time they are asked for. */
  private mergePairs: ReadonlyArray<readonly [string, string]> | null;
  /** charIds[c] = id of the one-character token with UTF-16 code c (BMP), or -1: no Map lookup per byte. */
  private readonly charIds = new Int32Array(0x10000).fill(-1);

  constructor(options: BpeOptions | BpeIdOptions) {
    const resolved = 'mergeIds' in options;
    this.vocab = resolved ? options.vocab : new Map(options.vocab);
    this.tokens = resolved ? options.tokens : invertVocab(this.vocab);
    this.unkToken = options.unkToken ?? null;
    this.unkId = this.unkToken === null ? -1 : this.requireId(this.unkToken, 'unk_token');
    this.byteFallback = options.byteFallback ?? false;
    this.fuseUnk = options.fuseUnk ?? false;
    if (this.byteFallback) for (let b = 0; b < 256; b++) this.byteIds[b] = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? -1;
    if (resolved) {
      this.mergeIds = options.mergeIds;
      this.mergePairs = null;
    } else {
      this.mergePairs = options.merges.map(([a, b]) => [a, b] as const);
      this.mergeIds = new Int32Array(3 * options.merges.length);
      options.merges.forEach(([left, right], rank) => {
        this.mergeIds[3 * rank] = this.requireId(left, `merge ${rank} left`);
        this.mergeIds[3 * rank + 1] = this.requireId(right, `merge ${rank} right`);
        this.mergeIds[3 * rank + 2] = this.requireId(left + right, `merge ${rank} result`);
      });
    }
    for (const [token, id] of this.vocab) if (token.length === 1) this.charIds[token.charCodeAt(0)] = id;
    const count = this.mergeIds.length / 3;
    this.mergedId = new Int32Array(count);
    this.mergeRanks = new PairRanks(count);
    for (let rank = 0; rank < count; rank++) {
      this.mergeRanks.insert(this.mergeIds[3 * rank], this.mergeIds[3 * rank + 1], rank);
      this.mergedId[rank] = this.mergeIds[3 * rank + 2];
    }
  }

  /** The merges in rank order, [left, right]. */
  get merges(): ReadonlyArray<readonly [string, string]> {
    if (this.mergePairs === null) {
      const pairs: Array<readonly [string, string]> = new Array(this.mergedId.length);
      for (let rank = 0; rank < pairs.length; rank++) pairs[rank] = [this.tokens[this.mergeIds[3 * rank]], this.tokens[this.mergeIds[3 * rank + 1]]];
      this.mergePairs = pairs;
    }
    return this.mergePairs;
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokens[id];
  }

  getVocab(): Map<string, number> {
    return new Map(this.vocab);
  }

  tokenizeWord(word: string, out: number[]): void {
    const symbols = this.initialSymbols(word);
    if (symbols.length === 1 || this.mergedId.length === 0) {
      for (let i = 0; i < symbols.length; i++) out.push(symbols[i]);
      return;
    }
    mergeSymbols(symbols, this.mergeRanks, this.mergedId);
    for (let i = 0; i !== -1; i = scratchNext[i]) out.push(symbols[i]);
  }

  private initialSymbols(word: string): number[] {
    const symbols: number[] = new Array(word.length);
    let n = 0;
    // n just after the last unk pushed for an unknown character (not an unk_token in the vocab's own right)
    let unkRunEnd = -1;
    for (let i = 0; i < word.length; i++) {
      const code = word.charCodeAt(i);
      let id = this.charIds[code];
      if (id < 0) {
        // A character outside the BMP (two code units), or one not in the vocabulary.
        const ch = String.fromCodePoint(word.codePointAt(i)!);
        i += ch.length - 1;
        const known = this.vocab.get(ch);
        if (known === undefined && this.byteFallback && this.pushBytes(ch, symbols, n)) {
          n = symbols.length;
          continue;
        }
        id = known ?? this.unkId;
        // fuse_unk: a run of unknown characters is one unk_token.
        if (known === undefined && this.fuseUnk && id >= 0 && n > 0 && symbols[n - 1] === this.unkId && unkRunEnd === n) continue;
        if (known === undefined) unkRunEnd = n + 1;
        if (id < 0) {
          const hex = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
          throw new QkvValueError(`BPE: character ${JSON.stringify(ch)} (U+${hex}) is not in the vocabulary and the model has no unk_token`);
        }
      }
      symbols[n++] = id;
    }
    symbols.length = n;
    return symbols;
  }

  /**
   * Writes ch's UTF-8 bytes as `<0xNN>` ids at symbols[n…] when every byte has one (Hugging Face
   * falls back to unk_token otherwise); symbols.length becomes the new count.
   */
  private pushBytes(ch: string, symbols: number[], n: number): boolean {
    const bytes = utf8Encoder.encode(ch);
    for (const b of bytes) if (this.byteIds[b] < 0) return false;
    symbols.length = n;
    for (const b of bytes) symbols.push(this.byteIds[b]);
    return true;
  }

  private requireId(token: string, what: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new QkvValueError(`BPE: ${what} ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  toJSON(): Record<string, unknown> {
    // Hugging Face writes merges as "left right" strings, or as pairs when a token holds a space.
    const needPairs = this.merges.some(([a, b]) => a.includes(' ') || b.includes(' '));
    return {
      type: 'BPE',
      dropout: null,
      unk_token: this.unkToken,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: this.fuseUnk,
      byte_fallback: this.byteFallback,
      ignore_merges: false,
      vocab: Object.fromEntries([...this.vocab].sort((x, y) => x[1] - y[1])),
      merges: needPairs ? this.merges.map(([a, b]) => [a, b]) : this.merges.map(([a, b]) => `${a} ${b}`),
    };
  }
}

const utf8Encoder = new TextEncoder();

// Scratch linked list shared by every call (encoding is synchronous): next/prev index of
// each live symbol, -1 at the ends.
let scratchNext = new Int32Array(64);
let scratchPrev = new Int32Array(64);
const heap: number[] = [];
// A heap entry packs rank and position into one double: rank·2^32 + position, so ties on
// rank go to the leftmost pair, as GPT-2 merges every occurrence of a pair left to right.
const POSITION_SPAN = 4294967296;

/**
 * Applies merges to symbols in place. On return the live symbols are reached from index 0
 * through scratchNext.
 */
function mergeSymbols(symbols: number[], ranks: PairRanks, mergedId: Int32Array): void {
  const n = symbols.length;
  if (scratchNext.length < n) {
    scratchNext = new Int32Array(n * 2);
    scratchPrev = new Int32Array(n * 2);
  }
  const next = scratchNext;
  const prev = scratchPrev;
  heap.length = 0;
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
    if (i + 1 < n) {
      const rank = ranks.get(symbols[i], symbols[i + 1]);
      if (rank !== -1) heapPush(rank * POSITION_SPAN + i);
    }
  }
  while (heap.length > 0) {
    const entry = heapPop();
    const rank = Math.floor(entry / POSITION_SPAN);
    const i = entry - rank * POSITION_SPAN;
    const j = next[i];
    // Stale entries: the left symbol was merged away (prev = -2) or the pair changed.
    if (prev[i] === -2 || j === -1 || ranks.get(symbols[i], symbols[j]) !== rank) continue;
    symbols[i] = mergedId[rank];
    const after = next[j];
    next[i] = after;
    prev[j] = -2;
    if (after !== -1) prev[after] = i;
    const before = prev[i];
    if (before >= 0) {
      const r = ranks.get(symbols[before], symbols[i]);
      if (r !== -1) heapPush(r * POSITION_SPAN + before);
    }
    if (after !== -1) {
      const r = ranks.get(symbols[i], symbols[after]);
      if (r !== -1) heapPush(r * POSITION_SPAN + i);
    }
  }
}

function heapPush(value: number): void {
  let k = heap.length;
  heap.push(value);
  while (k > 0) {
    const parent = (k - 1) >> 1;
    if (heap[parent] <= value) break;
    heap[k] = heap[parent];
    k = parent;
  }
  heap[k] = value;
}

function heapPop(): number {
  const top = heap[0];
  const last = heap.pop()!;
  const n = heap.length;
  if (n > 0) {
    let k = 0;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1] < heap[child]) child++;
      if (heap[child] >= last) break;
      heap[k] = heap[child];
      k = child;
    }
    heap[k] = last;
  }
  return top;
}
