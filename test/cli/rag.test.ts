import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Command } from 'commander';
import { runCli } from './run-cli.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { Retriever } from '../../src/rag/retriever.ts';
import { evaluateRetrieval, readLabelledQueries } from '../../src/rag/evaluate.ts';
import { loadBertEmbedder } from '../../src/rag/bert-embedder.ts';

test('qkv embed-train → rag make-eval → rag index → search / eval / ask, with JSON that matches the library', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'qkv-cli-rag-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const made = JSON.parse(await runCli(['rag', 'make-eval', '--out', join(root, 'set'), '--documents', '6', '--json']));
  assert.equal(made.queries, 6);
  const docs = join(root, 'set', 'docs');
  const queries = join(root, 'set', 'queries.jsonl');
  // A tiny embedder, trained for 3 steps: this checks the plumbing, not the quality.
  const trained = JSON.parse(await runCli(['embed-train', '--data', join(docs, 'brown-000.txt'), join(docs, 'brown-001.txt'), join(docs, 'brown-002.txt'),
    '--out', join(root, 'embedder'), '--steps', '3', '--batch-size', '3', '--vocab-size', '400', '--hidden-size', '16', '--layers', '1', '--heads', '2', '--max-length', '32', '--json']));
  assert.equal(trained.steps, 3);
  assert.ok(Number.isFinite(trained.lastLoss));

  const index = join(root, 'index');
  const first = JSON.parse(await runCli(['rag', 'index', join(docs, 'brown-000.txt'), join(docs, 'brown-001.txt'), join(docs, 'brown-002.txt'), '--index', index, '--embed-model', join(root, 'embedder'), '--store', 'hnsw', '--chunk-tokens', '64', '--overlap', '8', '--json']));
  assert.equal(first.newDocuments, 3);
  const again = JSON.parse(await runCli(['rag', 'index', join(docs, 'brown-000.txt'), join(docs, 'brown-001.txt'), join(docs, 'brown-002.txt'), '--index', index, '--embed-model', join(root, 'embedder'), '--json']));
  assert.equal(again.unchangedDocuments, 3);
  assert.equal(again.chunksAdded, 0);

  const hits = JSON.parse(await runCli(['rag', 'search', '--index', index, '--mode', 'hybrid', '--k', '3', '--json', 'the jury said']));
  assert.equal(hits.length, 3);
  for (const hit of hits) assert.equal(readFileSync(hit.source, 'utf8').slice(hit.start, hit.end), hit.text);
  const filtered = JSON.parse(await runCli(['rag', 'search', '--index', index, '--mode', 'bm25', '--filter', `source=${join(docs, 'brown-001.txt')}`, '--json', 'the']));
  assert.ok(filtered.length > 0 && filtered.every((hit: { source: string }) => hit.source.endsWith('brown-001.txt')));

  const evaluated = JSON.parse(await runCli(['rag', 'eval', '--index', index, '--queries', queries, '--mode', 'bm25', '--json']));
  const retriever = await Retriever.open(index, { embedder: loadBertEmbedder(join(root, 'embedder')) });
  const library = await evaluateRetrieval(retriever, readLabelledQueries(queries), { mode: 'bm25' });
  await retriever.close();
  for (const key of ['recall@1', 'recall@5', 'recall@10', 'mrr', 'ndcg@10'] as const) assert.equal(evaluated[key], library.metrics[key], key);
  assert.equal(evaluated.queries, 6);

  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'stub', choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'The jury said so [2].' } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  const answer = JSON.parse(await runCli(['rag', 'ask', '--index', index, '--base-url', url, '--mode', 'bm25', '--k', '3', '--json', 'What did the jury say?']));
  assert.equal(answer.answer, 'The jury said so [2].');
  assert.equal(answer.citations.length, 1);
  assert.deepEqual([answer.citations[0].source, answer.citations[0].start, answer.citations[0].end], [answer.sources[1].source, answer.sources[1].start, answer.sources[1].end]);
  assert.equal(answer.sources[1].cited, true);
  const text = await runCli(['rag', 'ask', '--index', index, '--base-url', url, '--mode', 'bm25', '--k', '3', 'What did the jury say?']);
  assert.match(text, /Sources:\n\[1\]  .*\n\[2\]\* .*brown-00\d\.txt:\d+-\d+/);
});

/** runCli overrides exits one level down; `rag` commands sit two levels down, so this sets it on every level. */
async function runRagCliExpectingError(args: string[]): Promise<void> {
  const program = buildProgram();
  const quiet = (command: Command): void => {
    command.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    command.commands.forEach(quiet);
  };
  quiet(program);
  await program.parseAsync(args, { from: 'user' });
}

test('qkv rag: bad input is refused by name', async () => {
  await assert.rejects(runRagCliExpectingError(['rag', 'search', '--index', join(tmpdir(), 'qkv-no-such-index'), 'x']), /not a qkv retrieval index/);
  await assert.rejects(runRagCliExpectingError(['rag', 'index', 'docs', '--index', 'x', '--store', 'faiss']), /--store must be one of flat, hnsw, postgres/);
  await assert.rejects(runRagCliExpectingError(['rag', 'ask', '--index', 'x', 'q']), /exactly one of --model DIR or --base-url URL/);
});
