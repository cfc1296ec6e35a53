import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel, saveCausalLM } from '../../src/models/load.ts';
import { GPT } from '../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { runCli } from './run-cli.ts';

const tinyModel = ['--hidden-size', '16', '--layers', '1', '--heads', '2', '--vocab-size', '120', '--block-size', '24', '--batch-size', '4'];

function fixtures(dir: string): { text: string; train: string; test: string } {
  const animals = ['the cat sat on the mat.', 'a dog ran in the park.', 'the bird sang in a tree.', 'my cat sleeps all day.'];
  const markets = ['stocks fell as rates rose.', 'the bank raised its rates.', 'shares of the firm fell.', 'markets rose on the news.'];
  const text = [...animals, ...markets].map((s, i) => `${s} ${animals[(i + 1) % 4]} ${markets[(i + 2) % 4]}`).join('\n\n');
  writeFileSync(join(dir, 'corpus.txt'), text);
  // CSV with a quoted comma and a group column.
  const rows = [...animals.map((s) => [s, 'animals']), ...markets.map((s) => [s, 'finance'])];
  // Each row twice, so every word is seen at least twice (the bag-of-words vocabulary's minimum).
  const csv = ['text,label,source', ...[...rows, ...rows].map(([t, l], i) => `"${t.replace('the', 'the, yes,')}",${l},${i % 2 === 0 ? 'web' : 'print'}`)].join('\n');
  writeFileSync(join(dir, 'train.csv'), csv + '\n');
  writeFileSync(join(dir, 'test.jsonl'), rows.map(([t, l], i) => JSON.stringify({ text: t, label: l, source: i % 2 === 0 ? 'web' : 'print' })).join('\n') + '\n');
  return { text: join(dir, 'corpus.txt'), train: join(dir, 'train.csv'), test: join(dir, 'test.jsonl') };
}

test('qkv bert pretrain → embed → classify train (fine-tune, from scratch, bag-of-words) → predict/eval --group', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-bert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = fixtures(dir);
  const pre = JSON.parse(await runCli(['bert', 'pretrain', '--data', files.text, '--out', join(dir, 'pre'), '--steps', '3', ...tinyModel, '--json']));
  assert.equal(pre.steps, 3);
  assert.ok(pre.mlm_loss_start > 0 && pre.mlm_loss_end > 0 && pre.tokens_per_second > 0);
  assert.ok(pre.nsp_accuracy_end >= 0 && pre.nsp_accuracy_end <= 1);
  const loaded = loadModel(join(dir, 'pre'));
  assert.ok(loaded.kind === 'bert' && loaded.architecture === 'BertForPreTraining');

  const embedded = JSON.parse(await runCli(['embed', '--model', join(dir, 'pre'), '--json', 'the cat', 'rates rose']));
  assert.equal(embedded.dim, 16);
  assert.equal(embedded.embeddings.length, 2);
  for (const vector of embedded.embeddings) assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5);

  const fineTuned = JSON.parse(await runCli(['classify', 'train', '--model', join(dir, 'pre'), '--data', files.train, '--out', join(dir, 'ft'), '--steps', '2', '--batch-size', '4', '--test', files.test, '--group', 'source', '--json']));
  assert.deepEqual(fineTuned.labels, ['animals', 'finance']);
  assert.ok(fineTuned.test.accuracy >= 0 && fineTuned.test.accuracy <= 1);
  assert.equal(fineTuned.test.gaps.length, 5);
  const scratch = JSON.parse(await runCli(['classify', 'train', '--from-scratch', '--data', files.train, '--out', join(dir, 'scratch'), '--steps', '2', ...tinyModel, '--json']));
  assert.equal(scratch.kind, 'bert');

  // The baseline separates these two vocabularies completely.
  await runCli(['classify', 'train', '--bag-of-words', '--data', files.train, '--out', join(dir, 'bow'), '--json']);
  const report = JSON.parse(await runCli(['classify', 'eval', '--model', join(dir, 'bow'), '--data', files.test, '--group', 'source', '--json']));
  assert.equal(report.accuracy, 1);
  assert.deepEqual(report.confusion, [[4, 0], [0, 4]]);
  assert.deepEqual(report.groups.map((g: { group: string }) => g.group), ['print', 'web']);
  assert.equal(report.gaps[0].gap, 0);
  const predicted = JSON.parse(await runCli(['classify', 'predict', '--model', join(dir, 'bow'), '--json', 'my cat sat', 'the rates fell']));
  assert.deepEqual(predicted.predictions.map((p: { label: string }) => p.label), ['animals', 'finance']);
  const bertEval = JSON.parse(await runCli(['classify', 'eval', '--model', join(dir, 'ft'), '--data', files.test, '--json']));
  assert.equal(bertEval.count, 8);

  // Bad inputs: a missing column, an unknown label, a folder of another architecture, a non-classifier.
  await assert.rejects(runCli(['classify', 'eval', '--model', join(dir, 'bow'), '--data', files.test, '--label-column', 'topic']), /test\.jsonl:1: missing column "topic"/);
  writeFileSync(join(dir, 'odd.jsonl'), JSON.stringify({ text: 'a cat', label: 'sports' }) + '\n');
  await assert.rejects(runCli(['classify', 'eval', '--model', join(dir, 'bow'), '--data', join(dir, 'odd.jsonl')]), /label "sports" is not one the model knows/);
  writeFileSync(join(dir, 'empty.jsonl'), JSON.stringify({ text: '  ', label: 'animals' }) + '\n');
  await assert.rejects(runCli(['classify', 'eval', '--model', join(dir, 'bow'), '--data', join(dir, 'empty.jsonl')]), /empty\.jsonl:1: empty text in column "text"/);
  const tokenizer = trainCharTokenizer('abc ');
  saveCausalLM(join(dir, 'gpt'), new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 8 }), tokenizer);
  await assert.rejects(runCli(['embed', '--model', join(dir, 'gpt'), 'abc']), /model_type is "gpt2"; qkv embed needs a BERT folder/);
  await assert.rejects(runCli(['classify', 'eval', '--model', join(dir, 'pre'), '--data', files.test]), /architectures is BertForPreTraining, not BertForSequenceClassification/);
  await assert.rejects(runCli(['classify', 'train', '--data', files.train, '--out', join(dir, 'x')]), /exactly one of --model DIR, --from-scratch, --bag-of-words/);
});

test('qkv calibrate prints the before/after table as JSON for a causal LM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-calibrate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = fixtures(dir);
  const tokenizer = trainCharTokenizer('abcdefghijklmnopqrstuvwxyz.,: \n');
  saveCausalLM(join(dir, 'gpt'), new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 128 }), tokenizer);
  const out = JSON.parse(await runCli(['calibrate', '--model', join(dir, 'gpt'), '--data', files.test, '--label-words', 'animals=pet,finance=money', '--shots', '2', '--seeds', '1,2', '--orders', '2', '--words', '4', '--json']));
  assert.equal(out.runs.length, 4);
  assert.equal(out.test_examples, 8);
  for (const run of out.runs) assert.equal(run.demonstrationLabels.length, 2);
  assert.ok(out.accuracy_before >= 0 && out.accuracy_after <= 1);
  await assert.rejects(runCli(['calibrate', '--model', join(dir, 'gpt'), '--data', files.test, '--label-words', 'animals']), /--label-words must be label=word/);
});
