/**
 * Splitting documents into overlapping chunks of at most `chunkTokens` tokens.
 *
 * A chunk ends at the best boundary in the last half of its window: a paragraph break (a blank
 * line) if there is one, else a sentence end (`.`, `!`, `?`, then optional closing quotes or
 * brackets), else wherever the window runs out. The next chunk starts `overlapTokens` before
 * that end, or further back (up to twice that) to a sentence start, so a passage cut in two
 * still appears whole in one of the chunks and chunks rarely start mid-sentence.
 *
 * Every chunk keeps its source path and the character offsets [start, end) into the document's
 * text (`text.slice(start, end) === chunk.text`, always), and an id made from the source and
 * the chunk's own text, stable across runs: re-chunking an unchanged document yields the same ids.
 *
 * "Tokens" are given by `tokenize` (spans into the text); the default is words and single
 * punctuation marks, which tracks subword counts closely enough to size chunks for a 512-token
 * encoder. Pass a tokenizer's offsets to size them exactly.
 *
 * @example
 *   const chunks = chunkDocument({ path: 'a.txt', text, metadata: {} }, { chunkTokens: 128, overlapTokens: 32 });
 *   chunks[0].text === text.slice(chunks[0].start, chunks[0].end); // true
 */
import { createHash } from 'node:crypto';
import { QkvValueError } from '../tensor/errors.ts';
import type { Metadata, RagDocument } from './loaders.ts';

export interface Chunk {
  /** 16 hex digits of sha-256 over source, offsets and text. */
  id: string;
  source: string;
  /** Character offsets into the document's text: `text.slice(start, end)`. */
  start: number;
  end: number;
  text: string;
  metadata: Metadata;
}

/** [start, end) character spans of the tokens of `text`, in order. */
export type TokenSpans = (text: string) => Array<[number, number]>;

export interface ChunkOptions {
  /** Most tokens in one chunk (default 128). */
  chunkTokens?: number;
  /** Tokens repeated at the start of the next chunk (default 32). */
  overlapTokens?: number;
  tokenize?: TokenSpans;
}

export const CHUNK_DEFAULTS = { chunkTokens: 128, overlapTokens: 32 } as const;

/** Words (letters/digits, with inner apostrophes and hyphens) and single other marks. */
export const wordSpans: TokenSpans = (text) => {
  const spans: Array<[number, number]> = [];
  for (const match of text.matchAll(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu)) {
    spans.push([match.index, match.index + match[0].length]);
  }
  return spans;
};

/** How good a place to cut is the gap after token i: 2 paragraph, 1 sentence, 0 anywhere. */
function boundaryStrengths(text: string, spans: Array<[number, number]>): Uint8Array {
  const strengths = new Uint8Array(spans.length);
  for (let i = 0; i < spans.length - 1; i++) {
    const gap = text.slice(spans[i][1], spans[i + 1][0]);
    if (/\n[^\S\n]*\n/.test(gap)) strengths[i] = 2;
    else if (/^\s/.test(gap) && endsSentence(text, spans, i)) strengths[i] = 1;
  }
  strengths[spans.length - 1] = 2;
  return strengths;
}

/** Token i is `.`/`!`/`?`, or a closing quote/bracket right after one. */
function endsSentence(text: string, spans: Array<[number, number]>, i: number): boolean {
  for (let j = i; j >= 0 && j >= i - 2; j--) {
    const token = text.slice(spans[j][0], spans[j][1]);
    if (token === '.' || token === '!' || token === '?') return true;
    if (!/^["'”’)\]]$/.test(token)) return false;
  }
  return false;
}

export function chunkId(source: string, start: number, end: number, text: string): string {
  return createHash('sha256').update(`${source}\0${start}:${end}\0${text}`).digest('hex').slice(0, 16);
}

/** Chunks of one document; an empty (or all-whitespace) document has none. */
export function chunkDocument(document: RagDocument, options: ChunkOptions = {}): Chunk[] {
  const chunkTokens = options.chunkTokens ?? CHUNK_DEFAULTS.chunkTokens;
  const overlapTokens = options.overlapTokens ?? CHUNK_DEFAULTS.overlapTokens;
  if (!Number.isInteger(chunkTokens) || chunkTokens < 1) throw new QkvValueError(`chunkDocument: chunkTokens must be a positive integer, got ${chunkTokens}`);
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= chunkTokens) {
    throw new QkvValueError(`chunkDocument: overlapTokens must be an integer in [0, chunkTokens), got ${overlapTokens} with chunkTokens ${chunkTokens}`);
  }
  const { text } = document;
  const spans = (options.tokenize ?? wordSpans)(text);
  if (spans.length === 0) return [];
  const strengths = boundaryStrengths(text, spans);
  const chunks: Chunk[] = [];
  let first = 0; // first token of the chunk being built
  for (;;) {
    const windowEnd = Math.min(first + chunkTokens, spans.length); // exclusive
    const last = windowEnd === spans.length ? windowEnd - 1 : bestCut(strengths, first, windowEnd);
    const start = spans[first][0];
    const end = spans[last][1];
    const body = text.slice(start, end);
    chunks.push({ id: chunkId(document.path, start, end, body), source: document.path, start, end, text: body, metadata: { ...document.metadata } });
    if (last === spans.length - 1) return chunks;
    first = nextStart(strengths, first, last, overlapTokens);
  }
}

/** The last token of a chunk spanning [first, windowEnd): the strongest cut in the window's second half, latest wins ties. */
function bestCut(strengths: Uint8Array, first: number, windowEnd: number): number {
  const earliest = first + Math.floor((windowEnd - first) / 2);
  let best = windowEnd - 1;
  let bestStrength = -1;
  for (let i = windowEnd - 1; i >= earliest; i--) {
    if (strengths[i] > bestStrength) {
      best = i;
      bestStrength = strengths[i];
      if (bestStrength === 2) break;
    }
  }
  return best;
}

/**
 * First token of the next chunk: `overlap` tokens back from the cut, or further back (up to
 * twice the overlap) to the latest sentence start, so the repeated context starts on a sentence.
 */
function nextStart(strengths: Uint8Array, first: number, last: number, overlap: number): number {
  const plain = Math.max(first + 1, last + 1 - overlap);
  const earliest = Math.max(first + 1, last + 1 - 2 * overlap);
  for (let start = plain; start >= earliest; start--) if (strengths[start - 1] >= 1) return start;
  return plain;
}

/** Chunks of every document, in order. */
export function chunkDocuments(documents: readonly RagDocument[], options: ChunkOptions = {}): Chunk[] {
  return documents.flatMap((document) => chunkDocument(document, options));
}
