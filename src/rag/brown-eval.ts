/**
 * A labelled retrieval set over Brown Corpus documents (data/brown.txt: 295 documents, one
 * sentence per line, documents separated by a blank line), generated with a seed.
 *
 * Every document is indexed (the unlabelled ones are distractors). For each of `documents` of
 * them, chosen with the seed, one sentence of at least 12 words is held out: it is removed from
 * the document that gets indexed (and so from anything an embedder trains on), and turned into
 * a query by keeping up to 8 of its content words, at most 40% of them words that also occur
 * in the rest of the document, in shuffled order. A query therefore shares few words with the
 * passage it must find: BM25 gets the shared ones, a dense model must get the topic. The
 * relevant "passage" is the document (`relevant: ["brown-017.txt"]`).
 *
 * Documents are written as paragraphs of 5 sentences (blank lines between), so the chunker
 * has paragraph boundaries to prefer.
 *
 * @example
 *   const set = makeBrownEval({ brownText: readFileSync('data/brown.txt', 'utf8'), documents: 120, seed: 14 });
 *   set.documents[0]; // { name: 'brown-000.txt', text: '…' }
 *   set.queries[0];   // { query: 'jury atlanta …', relevant: ['brown-000.txt'] }
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { Rng } from '../tensor/random.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { bm25Terms } from './bm25.ts';

export interface BrownEvalOptions {
  /** The text of data/brown.txt. */
  brownText: string;
  /** Documents given a query each (default 120); all documents are written. */
  documents?: number;
  seed?: number;
  /** Most words per query (default 8). */
  queryWords?: number;
  /** Most fraction of query words found elsewhere in the document (default 0.4). */
  maxSharedFraction?: number;
}

export interface LabelledQuery {
  query: string;
  relevant: string[];
}

export interface BrownEvalSet {
  documents: Array<{ name: string; text: string }>;
  queries: LabelledQuery[];
  /** Mean fraction of a query's words that occur in its relevant document. */
  sharedWordFraction: number;
  /** The sentences queries were made from (in query order), kept out of `documents`: what a trainer must never see. */
  heldOutSentences: string[];
}

/** Function words dropped from queries (a short list: the Brown Corpus's most frequent). */
export const STOPWORDS = new Set(
  ('the of and to a in that is was he for it with as his on be at by i had this not are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'
  ).split(' '),
);

export const BROWN_EVAL_DEFAULTS = { documents: 120, seed: 14, queryWords: 8, maxSharedFraction: 0.4 } as const;

export function makeBrownEval(options: BrownEvalOptions): BrownEvalSet {
  const count = options.documents ?? BROWN_EVAL_DEFAULTS.documents;
  const queryWords = options.queryWords ?? BROWN_EVAL_DEFAULTS.queryWords;
  const maxShared = options.maxSharedFraction ?? BROWN_EVAL_DEFAULTS.maxSharedFraction;
  const rng = new Rng(options.seed ?? BROWN_EVAL_DEFAULTS.seed);
  const corpus = options.brownText.split(/\n\s*\n/).map((block) => block.split('\n').map((line) => line.trim()).filter((line) => line.length > 0)).filter((doc) => doc.length >= 20);
  if (count > corpus.length) throw new QkvValueError(`makeBrownEval: asked for ${count} documents, the corpus has ${corpus.length}`);
  const chosen = new Set(Array.from(rng.permutation(corpus.length)).slice(0, count));
  const documents: BrownEvalSet['documents'] = [];
  const queries: LabelledQuery[] = [];
  const heldOutSentences: string[] = [];
  let sharedTotal = 0;
  for (const [index, sentences] of corpus.entries()) {
    const name = `brown-${String(index).padStart(3, '0')}.txt`;
    if (!chosen.has(index)) {
      documents.push({ name, text: paragraphsOf(sentences) });
      continue;
    }
    const order = Array.from(rng.permutation(sentences.length));
    let heldOut = -1;
    let query: string[] = [];
    for (const candidate of order) {
      if (bm25Terms(sentences[candidate]).length < 12) continue;
      const rest = new Set(sentences.filter((_, i) => i !== candidate).flatMap(bm25Terms));
      const rewritten = rewriteSentenceAsQuery(sentences[candidate], rest, rng, { queryWords, maxSharedFraction: maxShared });
      if (rewritten === null) continue;
      heldOut = candidate;
      query = rewritten.words;
      sharedTotal += rewritten.sharedFraction;
      break;
    }
    documents.push({ name, text: paragraphsOf(sentences.filter((_, i) => i !== heldOut)) });
    if (heldOut >= 0) {
      queries.push({ query: query.join(' '), relevant: [name] });
      heldOutSentences.push(sentences[heldOut]);
    } // else still indexed, unlabelled
  }
  return { documents, queries, sharedWordFraction: queries.length === 0 ? 0 : sharedTotal / queries.length, heldOutSentences };
}

/**
 * The eval's rewrite of one sentence into a query: up to `queryWords` of its content words (3+
 * letters, no stopwords or numbers), at most `maxSharedFraction` of them found in `rest` (the
 * terms of the passage it must find), shuffled; null when fewer than 4 words qualify. Shared with
 * the embedder's training pairs (./contrastive.ts), so it trains on queries made the same way.
 * Consumes `rng` in a fixed order (the shipped query file depends on it).
 */
export function rewriteSentenceAsQuery(
  sentence: string,
  rest: ReadonlySet<string>,
  rng: Rng,
  options: { queryWords?: number; maxSharedFraction?: number } = {},
): { words: string[]; sharedFraction: number } | null {
  const queryWords = options.queryWords ?? BROWN_EVAL_DEFAULTS.queryWords;
  const maxShared = options.maxSharedFraction ?? BROWN_EVAL_DEFAULTS.maxSharedFraction;
  const words = [...new Set(bm25Terms(sentence).filter((word) => word.length >= 3 && !STOPWORDS.has(word) && !/^\d+$/.test(word)))];
  const novel = words.filter((word) => !rest.has(word));
  const shared = words.filter((word) => rest.has(word));
  const sharedAllowed = Math.floor(maxShared * queryWords);
  const picked = [...shuffle(novel, rng).slice(0, queryWords - Math.min(sharedAllowed, shared.length)), ...shuffle(shared, rng).slice(0, sharedAllowed)];
  const sharedCount = picked.filter((word) => rest.has(word)).length;
  if (picked.length < 4 || sharedCount > maxShared * picked.length) return null;
  return { words: shuffle(picked, rng), sharedFraction: sharedCount / picked.length };
}

function paragraphsOf(sentences: readonly string[]): string {
  const paragraphs: string[] = [];
  for (let i = 0; i < sentences.length; i += 5) paragraphs.push(sentences.slice(i, i + 5).join(' '));
  return `${paragraphs.join('\n\n')}\n`;
}

function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  return Array.from(rng.permutation(items.length), (i) => items[i]);
}

/** Writes `dir/docs/*.txt` and `dir/queries.jsonl` (each file atomically). */
export function writeBrownEval(dir: string, set: BrownEvalSet): { docsDir: string; queriesFile: string } {
  const docsDir = join(dir, 'docs');
  mkdirSync(docsDir, { recursive: true });
  for (const document of set.documents) writeFileAtomic(join(docsDir, document.name), document.text);
  const queriesFile = join(dir, 'queries.jsonl');
  writeFileAtomic(queriesFile, formatQueries(set.queries));
  return { docsDir, queriesFile };
}

export function formatQueries(queries: readonly LabelledQuery[]): string {
  return queries.map((query) => JSON.stringify(query)).join('\n') + '\n';
}
