import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';

function withDir(run: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkv-seq2seq-cli-'));
    try {
      await run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test('qkv metrics bleu prints the sacreBLEU line for the README example, and --json its fields', withDir(async (dir) => {
  const hyp = join(dir, 'hyp.txt');
  const ref1 = join(dir, 'ref1.txt');
  const ref2 = join(dir, 'ref2.txt');
  writeFileSync(hyp, "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n");
  writeFileSync(ref1, 'The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n');
  writeFileSync(ref2, 'The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n');
  assert.equal(await runCli(['metrics', 'bleu', '--hypotheses', hyp, '--references', ref1, ref2]), 'BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)');
  const json = JSON.parse(await runCli(['metrics', 'bleu', '--hypotheses', hyp, '--references', ref1, ref2, '--json']));
  assert.deepEqual(Object.keys(json), ['score', 'precisions', 'bp', 'sys_len', 'ref_len']);
  assert.equal(json.sys_len, 17);
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'one line\n');
  await assert.rejects(runCli(['metrics', 'bleu', '--hypotheses', hyp, '--references', short]), /short\.txt has 1 lines but .*hyp\.txt has 3/);
  const rouge = JSON.parse(await runCli(['metrics', 'rouge', '--hypotheses', hyp, '--references', ref1, '--json']));
  // By hand: line 1 identical (F 1); line 2 LCS "it" of 4 and 4 tokens (F 1/4); line 3 LCS "the man him" of 6 and 5 (F 2·½·⅗/(½+⅗)).
  const expected = (1 + 0.25 + (2 * 0.5 * 0.6) / 1.1) / 3;
  assert.ok(Math.abs(rouge.rougeL.fmeasure - expected) < 1e-12, `${rouge.rougeL.fmeasure} vs ${expected}`);
}));

test('qkv seq2seq train → translate → eval on a seeded task, with beam search', withDir(async (dir) => {
  const out = join(dir, 'model');
  const common = ['--task', 'reverse', '--min-length', '3', '--max-length', '3'];
  const trained = JSON.parse(await runCli(['seq2seq', 'train', ...common, '--preset', 'tiny', '--steps', '40', '--batch-size', '8', '--train-size', '300', '--val-size', '10', '--out', out, '--json']));
  for (const field of ['parameters', 'train_loss', 'val_loss', 'exact_match', 'bleu', 'rouge_l', 'train_seconds']) assert.ok(field in trained, field);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model_type, 'transformer');
  assert.ok(existsSync(join(out, 'tokenizer.json')) && existsSync(join(out, 'seq2seq_task.json')));
  const translated = (await runCli(['seq2seq', 'translate', '--model', out, '--beam', '3', '--n-best', '2', '--json', '1 2 3'])).split('\n').map((line) => JSON.parse(line));
  assert.equal(translated.length, 1);
  assert.equal(translated[0].translations.length, 2);
  const scores = JSON.parse(await runCli(['seq2seq', 'eval', '--model', out, ...common, '--count', '10', '--beam', '2', '--json']));
  assert.deepEqual(Object.keys(scores), ['bleu', 'rouge_l', 'exact_match', 'token_accuracy', 'segments', 'beam']);
  assert.equal(scores.segments, 10);
  await assert.rejects(runCli(['seq2seq', 'eval', '--model', out, '--json']), /exactly one of --task NAME or --pairs FILE\.tsv/);
}));

test('qkv seq2seq train --arch gru on a TSV of pairs', withDir(async (dir) => {
  const pairs = join(dir, 'pairs.tsv');
  writeFileSync(pairs, Array.from({ length: 20 }, (_, i) => `${i}\t${String(i).split('').reverse().join('')}`).join('\n') + '\n');
  const out = join(dir, 'gru');
  const trained = JSON.parse(await runCli(['seq2seq', 'train', '--pairs', pairs, '--arch', 'gru', '--hidden-size', '16', '--steps', '5', '--batch-size', '4', '--out', out, '--json']));
  assert.equal(trained.arch, 'gru');
  assert.equal(trained.validation_pairs, 2);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).attention, 'none');
}));
