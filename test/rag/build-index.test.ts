import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { indexDocuments } from '../../src/rag/build-index.ts';
import { Retriever } from '../../src/rag/retriever.ts';
import { QkvStoreError } from '../../src/rag/errors.ts';
import { hashingEmbedder } from './fixtures.ts';

const embedder = hashingEmbedder(256);
const chunking = { chunkTokens: 12, overlapTokens: 3 };

function writeCorpus(dir: string): void {
  writeFileSync(join(dir, 'cats.txt'), 'Cats purr and sleep most of the day. A cat hunts mice at night.\n\nKittens play with yarn and chase string.');
  writeFileSync(join(dir, 'ships.md'), '# Ships\n\nA ship sails the ocean with cargo. Sailors navigate by the stars and the compass.');
  writeFileSync(join(dir, 'bread.html'), '<p>Bread needs flour, water, yeast and salt.</p><p>The dough rises before baking in a hot oven.</p>');
}

for (const store of ['flat', 'hnsw'] as const) {
  test(`index (${store}): re-indexing skips unchanged files, replaces only a changed file's chunks, drops removed files`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'qkv-index-'));
    const docs = join(root, 'docs');
    const index = join(root, 'index');
    try {
      spawnSync('mkdir', [docs]);
      writeCorpus(docs);
      const first = await indexDocuments({ paths: [docs], dir: index, embedder, store, chunking });
      assert.equal(first.newDocuments, 3);
      assert.ok(first.totalChunks >= 6, String(first.totalChunks));
      const before = readFileSync(join(index, first.generation, 'chunks.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      const catIds = before.filter((c) => c.source.endsWith('cats.txt')).map((c) => c.id);

      const again = await indexDocuments({ paths: [docs], dir: index, embedder, chunking });
      assert.deepEqual([again.newDocuments, again.changedDocuments, again.unchangedDocuments, again.chunksAdded, again.chunksRemoved], [0, 0, 3, 0, 0]);

      writeFileSync(join(docs, 'ships.md'), '# Ships\n\nA submarine dives under the ocean. Its periscope watches the waves.');
      rmSync(join(docs, 'bread.html'));
      const changed = await indexDocuments({ paths: [docs], dir: index, embedder, chunking });
      assert.deepEqual([changed.changedDocuments, changed.unchangedDocuments, changed.removedDocuments], [1, 1, 1]);
      const after = readFileSync(join(index, changed.generation, 'chunks.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      assert.deepEqual(after.filter((c) => c.source.endsWith('cats.txt')).map((c) => c.id), catIds, 'the unchanged file keeps its chunks');
      assert.ok(!after.some((c) => c.source.endsWith('bread.html')));
      assert.deepEqual(readdirSync(index).sort(), ['CURRENT', changed.generation], 'older generations are removed');

      const retriever = await Retriever.open(index, { embedder });
      try {
        assert.equal(retriever.chunkCount, after.length);
        const [dense] = await retriever.search('submarine periscope', { mode: 'dense', k: 1 });
        assert.ok(dense.chunk.source.endsWith('ships.md'));
        assert.equal(readFileSync(dense.chunk.source, 'utf8').slice(dense.chunk.start, dense.chunk.end), dense.chunk.text);
        const lexical = await retriever.search('kittens yarn', { mode: 'bm25', k: 3 });
        assert.ok(lexical[0].chunk.source.endsWith('cats.txt'));
        assert.deepEqual(await retriever.search('flour yeast', { mode: 'bm25' }), []);
        const filtered = await retriever.search('ocean', { mode: 'hybrid', k: 5, filter: { type: 'txt' } });
        assert.ok(filtered.length > 0 && filtered.every((hit) => hit.chunk.source.endsWith('.txt')));
      } finally {
        await retriever.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test(`index (${store}): a write killed before its commit leaves the previous index readable, and the next write succeeds`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'qkv-kill-'));
    const docs = join(root, 'docs');
    const index = join(root, 'index');
    try {
      spawnSync('mkdir', [docs]);
      writeCorpus(docs);
      const first = await indexDocuments({ paths: [docs], dir: index, embedder, store, chunking });
      writeFileSync(join(docs, 'cats.txt'), 'Dogs bark at the mailman every morning.');
      const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'killed-writer.ts'), docs, index, store], { encoding: 'utf8' });
      assert.equal(child.signal, 'SIGKILL', child.stderr);
      assert.ok(existsSync(join(index, 'gen-000002', 'index.json')), 'the killed write had built its generation');
      assert.equal(readFileSync(join(index, 'CURRENT'), 'utf8').trim(), first.generation);
      const retriever = await Retriever.open(index, { embedder });
      try {
        assert.equal(retriever.chunkCount, first.totalChunks);
        const [hit] = await retriever.search('cats purr sleep', { mode: 'dense', k: 1 });
        assert.ok(hit.chunk.text.includes('Cats purr'), 'the old chunks are what is served');
        assert.deepEqual(await retriever.search('mailman', { mode: 'bm25' }), []);
      } finally {
        await retriever.close();
      }
      const next = await indexDocuments({ paths: [docs], dir: index, embedder, chunking });
      assert.equal(next.changedDocuments, 1);
      assert.equal(next.generation, 'gen-000002');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('index: bad inputs give clear errors and leave the index as it was', async () => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-bad-'));
  const docs = join(root, 'docs');
  const index = join(root, 'index');
  try {
    spawnSync('mkdir', [docs]);
    writeCorpus(docs);
    const first = await indexDocuments({ paths: [docs], dir: index, embedder, chunking });
    const snapshot = () => readdirSync(index).sort().join(',') + readFileSync(join(index, first.generation, 'chunks.jsonl'), 'utf8');
    const before = snapshot();

    writeFileSync(join(docs, 'cats.txt'), 'changed text');
    await assert.rejects(indexDocuments({ paths: [docs], dir: index, embedder: hashingEmbedder(16), chunking }), (error: unknown) =>
      error instanceof QkvStoreError && /holds vectors of dim 256 from test-hashing-256, but test-hashing-16 gives dim 16/.test((error as Error).message));
    assert.equal(snapshot(), before);

    const failing = { name: embedder.name, dim: 256, embed: async () => { throw new Error('embedding server down'); } };
    await assert.rejects(indexDocuments({ paths: [docs], dir: index, embedder: failing, chunking }), /embedding server down/);
    assert.equal(snapshot(), before);

    await assert.rejects(indexDocuments({ paths: [docs], dir: index, embedder, store: 'hnsw', chunking }), /holds a flat store; cannot add to it as hnsw/);
    assert.equal(snapshot(), before);

    // Undecodable bytes and a missing path are reported; the file keeps its old chunks; the rest goes on.
    writeFileSync(join(docs, 'cats.txt'), Buffer.from([0xc3, 0x28, 0x41]));
    const report = await indexDocuments({ paths: [docs, join(root, 'missing')], dir: index, embedder, chunking });
    assert.deepEqual(report.problems.map((p) => p.reason), ['not valid UTF-8 text', 'cannot read: ENOENT']);
    assert.equal(report.removedDocuments, 0);
    assert.equal(report.totalDocuments, 3);
    await assert.rejects(Retriever.open(join(root, 'nowhere')), /not a qkv retrieval index/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('index: without an embedder it is BM25-only, and dense search says so', async () => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-bm25-'));
  try {
    spawnSync('mkdir', [join(root, 'docs')]);
    writeCorpus(join(root, 'docs'));
    await indexDocuments({ paths: [join(root, 'docs')], dir: join(root, 'index'), chunking });
    const retriever = await Retriever.open(join(root, 'index'));
    assert.ok((await retriever.search('ocean cargo'))[0].chunk.source.endsWith('ships.md'));
    await assert.rejects(retriever.search('ocean', { mode: 'dense' }), /has no vectors \(built without an embedder\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
