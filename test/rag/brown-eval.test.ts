import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bm25Terms } from '../../src/rag/bm25.ts';
import { formatQueries, makeBrownEval } from '../../src/rag/brown-eval.ts';

const brownText = readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8');

test('brown eval: the shipped query file is what the seed generates', () => {
  const set = makeBrownEval({ brownText });
  assert.equal(formatQueries(set.queries), readFileSync(new URL('../../data/rag-brown-queries.jsonl', import.meta.url), 'utf8'));
  assert.equal(set.queries.length, 120);
  assert.equal(set.documents.length, 295);
});

test('brown eval: held-out sentences are gone from the documents, and queries share at most 40% of their words with them', () => {
  const set = makeBrownEval({ brownText, documents: 30, seed: 3 });
  const originals = brownText.split(/\n\s*\n/);
  for (const query of set.queries) {
    const document = set.documents.find((d) => d.name === query.relevant[0])!;
    const words = query.query.split(' ');
    assert.ok(words.length >= 4 && words.length <= 8, query.query);
    const inDocument = new Set(bm25Terms(document.text));
    const shared = words.filter((word) => inDocument.has(word)).length;
    assert.ok(shared <= 0.4 * words.length, `${query.query}: ${shared} of ${words.length} words in ${document.name}`);
    // The held-out sentence: a line of the original document missing from the indexed one.
    const original = originals[Number(document.name.slice(6, 9))].split('\n').map((line) => line.trim()).filter(Boolean);
    const missing = original.filter((sentence) => !document.text.includes(sentence));
    assert.equal(missing.length, 1, document.name);
    const source = new Set(bm25Terms(missing[0]));
    assert.ok(words.every((word) => source.has(word)), `every query word comes from the held-out sentence: ${query.query}`);
  }
  assert.deepEqual(makeBrownEval({ brownText, documents: 30, seed: 3 }).queries, set.queries, 'seeded: the same set again');
});
