/**
 * SentencePiece BPE as llama.cpp runs it (`llm_tokenizer_spm`, tokenizer.ggml.model "llama"):
 * the vocabulary of pieces with scores that Llama 1/2, Mistral and TinyLlama ship.
 *
 *   normalizer   " " → "▁", and "▁" prepended to each run of text (add_space_prefix)
 *   model        the text split into characters; repeatedly the adjacent pair whose concatenation
 *                is a piece with the highest score (ties: the leftmost) is merged; a symbol that is
 *                no piece is spelled in byte tokens `<0xNN>` (byte fallback), else `<unk>`
 *   decoder      "▁" → " ", `<0xNN>` runs → their UTF-8 text, the prepended space dropped
 *
 * Hugging Face's LlamaConverter writes the same tokenizer as a BPE model with merges ordered by
 * score and byte_fallback; this is the score-driven form of it, on the GGUF's own arrays.
 *
 * @example
 * const model = new SentencePieceBpeModel(pieces, scores, { unkId: 0 });
 * const ids: number[] = []; model.tokenizeWord('▁Hello▁world', ids);
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Decoder } from './decoder.ts';
import type { TokenizerModel } from './model.ts';
import type { Normalizer } from './normalizer.ts';

/** SentencePiece's meta symbol for a space (U+2581). */
export const SPACE_SYMBOL = '\u2581';

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

export interface SentencePieceOptions {
  /** Id of `<unk>`, or null: a byte with no `<0xNN>` token then has no id (an error). */
  unkId: number | null;
  /** llama.cpp's token types per id (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), kept for writing GGUF back. */
  tokenTypes?: readonly number[];
}

/** A candidate merge of symbols `left` and `left`'s next, ranked by the merged piece's score. */
interface Bigram {
  left: number;
  right: number;
  score: number;
  /** Code units of the merged text, to drop entries made stale by an earlier merge. */
  size: number;
}

/** Max-heap on score, then the lower left index (llama.cpp's llm_bigram_spm::comparator). */
class BigramQueue {
  private readonly items: Bigram[] = [];
  get size(): number {
    return this.items.length;
  }
  private before(a: Bigram, b: Bigram): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(item: Bigram): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }
  pop(): Bigram {
    const items = this.items;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let best = i;
        if (l < items.length && this.before(items[l], items[best])) best = l;
        if (r < items.length && this.before(items[r], items[best])) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best], items[i]];
        i = best;
      }
    }
    return top;
  }
}

export class SentencePieceBpeModel implements TokenizerModel {
  readonly type = 'BPE' as const;
  readonly unkToken: string | null;
  private readonly ids = new Map<string, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);

  constructor(readonly pieces: readonly string[], readonly scores: ArrayLike<number>, readonly options: SentencePieceOptions) {
    if (scores.length !== pieces.length) throw new QkvValueError(`SentencePieceBpeModel: ${scores.length} scores for ${pieces.length} pieces`);
    // a later duplicate wins, as in llama.cpp's token_to_id
    pieces.forEach((piece, id) => this.ids.set(piece, id));
    for (let b = 0; b < 256; b++) {
      const id = this.ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`) ?? (b < 128 ? this.ids.get(String.fromCharCode(b)) : undefined);
      if (id !== undefined) this.byteIds[b] = id;
    }
    const { unkId } = options;
    if (unkId !== null && !(Number.isInteger(unkId) && unkId >= 0 && unkId < pieces.length)) throw new QkvValueError(`SentencePieceBpeModel: unk id ${unkId} is not in the ${pieces.length} pieces`);
    this.unkToken = unkId === null ? null : pieces[unkId];
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.pieces[id];
  }

  getVocab(): Map<string, number> {
    return new Map(this.ids);
  }

  /** One normalised run of text ("▁" for spaces) → ids, llama.cpp's llm_tokenizer_spm_session::tokenize. */
  tokenizeWord(word: string, out: number[]): void {
    const text: string[] = Array.from(word); // one symbol per character (code point)
    const n = text.length;
    if (n === 0) return;
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const queue = new BigramQueue();
    const tryAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const merged = text[left] + text[right];
      const id = this.ids.get(merged);
      if (id === undefined) return;
      queue.push({ left, right, score: this.scores[id], size: merged.length });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (queue.size > 0) {
      const { left, right, size } = queue.pop();
      // stale: one side was merged away, or grew, since this pair was queued
      if (text[left].length === 0 || text[right].length === 0 || text[left].length + text[right].length !== size || next[left] !== right) continue;
      text[left] += text[right];
      text[right] = '';
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      tryAdd(prev[left], left);
      tryAdd(left, next[left]);
    }
    for (let i = 0; i >= 0; i = next[i]) {
      const id = this.ids.get(text[i]);
      if (id !== undefined) out.push(id);
      else this.byteFallback(text[i], out);
    }
  }

  /** A symbol that is no piece, as its UTF-8 bytes' tokens (llama.cpp's byte_to_token), else `<unk>`. */
  private byteFallback(symbol: string, out: number[]): void {
    for (const byte of new TextEncoder().encode(symbol)) {
      const id = this.byteIds[byte] >= 0 ? this.byteIds[byte] : this.options.unkId;
      if (id === null) throw new QkvValueError(`SentencePieceBpeModel: byte 0x${byte.toString(16)} of ${JSON.stringify(symbol)} has no <0xNN> token and there is no <unk>`);
      out.push(id);
    }
  }

  /**
   * Hugging Face's form (LlamaConverter): a BPE model with byte fallback whose merges are every
   * split of a piece into two pieces, ordered by the merged piece's score (highest first).
   */
  toJSON(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    this.pieces.forEach((piece, id) => (vocab[piece] ??= id));
    const merges: { left: string; right: string; score: number; id: number; rightId: number }[] = [];
    this.pieces.forEach((piece, id) => {
      const chars = Array.from(piece);
      for (let cut = 1; cut < chars.length; cut++) {
        const left = chars.slice(0, cut).join('');
        const right = chars.slice(cut).join('');
        const leftId = this.ids.get(left);
        const rightId = this.ids.get(right);
        if (leftId !== undefined && rightId !== undefined) merges.push({ left, right, score: this.scores[id], id: leftId, rightId });
      }
    });
    merges.sort((a, b) => b.score - a.score || a.id - b.id || a.rightId - b.rightId);
    return {
      type: 'BPE', dropout: null, unk_token: this.unkToken, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: merges.map((m) => [m.left, m.right]),
    };
  }
}

/** " " → "▁", with "▁" prepended when `addSpacePrefix` (llama.cpp: before each run of text). */
export class SentencePieceNormalizer implements Normalizer {
  constructor(readonly addSpacePrefix: boolean) {}

  normalize(text: string): string {
    const escaped = text.replaceAll(' ', SPACE_SYMBOL);
    return this.addSpacePrefix && text.length > 0 ? SPACE_SYMBOL + escaped : escaped;
  }

  toJSON(): Record<string, unknown> {
    const replace = { type: 'Replace', pattern: { String: ' ' }, content: SPACE_SYMBOL };
    return this.addSpacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE_SYMBOL }, replace] } : replace;
  }
}

/** "▁" → " ", runs of `<0xNN>` → their UTF-8 text (U+FFFD where invalid), one leading space dropped. */
export class SentencePieceDecoder implements Decoder {
  constructor(readonly addSpacePrefix: boolean) {}

  decode(tokens: readonly string[]): string {
    const encoder = new TextEncoder();
    const bytes: number[] = [];
    for (const token of tokens) {
      const byte = BYTE_TOKEN.exec(token);
      if (byte !== null) bytes.push(parseInt(byte[1], 16));
      else for (const b of encoder.encode(token.replaceAll(SPACE_SYMBOL, ' '))) bytes.push(b);
    }
    const text = new TextDecoder().decode(Uint8Array.from(bytes));
    return this.addSpacePrefix && text.startsWith(' ') ? text.slice(1) : text;
  }

  toJSON(): Record<string, unknown> {
    const steps: Record<string, unknown>[] = [
      { type: 'Replace', pattern: { String: SPACE_SYMBOL }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
    ];
    if (this.addSpacePrefix) steps.push({ type: 'Strip', content: ' ', start: 1, stop: 0 });
    return { type: 'Sequence', decoders: steps };
  }
}
