import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { indexDocuments } from '../../src/rag/build-index.ts';
import { Retriever } from '../../src/rag/retriever.ts';
import { hashingEmbedder } from './fixtures.ts';

test('perDocument: each source once, at the rank of its best chunk, in every mode; without it chunks of one file fill the slots', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-perdoc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const docs = join(root, 'docs');
  mkdirSync(docs);
  // long.txt: many chunks about cats; short.txt: one chunk mentioning cats once; other.txt: none.
  writeFileSync(join(docs, 'long.txt'), Array.from({ length: 8 }, (_, i) => `The cat ${i} purrs and the cat sleeps.`).join('\n\n'));
  writeFileSync(join(docs, 'short.txt'), 'A cat walked past the harbour boats.');
  writeFileSync(join(docs, 'other.txt'), 'Bread needs flour, water and salt.');
  const embedder = hashingEmbedder(128);
  await indexDocuments({ paths: [docs], dir: join(root, 'index'), embedder, chunking: { chunkTokens: 10, overlapTokens: 0 } });
  const retriever = await Retriever.open(join(root, 'index'), { embedder });
  t.after(() => retriever.close());
  for (const mode of ['bm25', 'dense', 'hybrid'] as const) {
    const chunks = await retriever.search('cat purrs', { mode, k: 3 });
    assert.deepEqual(chunks.map((hit) => hit.chunk.source.split('/').pop()), ['long.txt', 'long.txt', 'long.txt'], mode);
    const all = await retriever.search('cat purrs', { mode, k: 40 });
    const documents = await retriever.search('cat purrs', { mode, k: 3, perDocument: true });
    const sources = documents.map((hit) => hit.chunk.source);
    assert.equal(new Set(sources).size, sources.length, `${mode}: a source twice`);
    // The same order as the first appearance of each source in the full chunk ranking.
    const firstSeen = [...new Set(all.map((hit) => hit.chunk.source))].slice(0, 3);
    if (mode !== 'hybrid') assert.deepEqual(sources, firstSeen, mode);
    assert.equal(sources[0].split('/').pop(), 'long.txt', mode);
    assert.ok(sources.some((source) => source.endsWith('short.txt')), `${mode}: short.txt is within the top 3 documents`);
    if (mode !== 'hybrid') assert.equal(documents[0].chunk.id, all[0].chunk.id, `${mode}: the best chunk stands for its document`);
  }
});
