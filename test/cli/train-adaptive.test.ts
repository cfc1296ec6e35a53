import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCausalLM } from '../../src/models/load.ts';
import { GPT } from '../../src/models/gpt.ts';
import { cutoffsOption } from '../../src/cli/train.ts';
import { runCli } from './run-cli.ts';

function setup(t: { after(fn: () => void): void }): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-train-adaptive-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'corpus.txt');
  writeFileSync(data, 'It was the best of times, it was the worst of times. '.repeat(30));
  return { dir, data };
}

const QUICK = ['--config', 'tiny', '--steps', '3', '--batch-size', '2', '--block-size', '16', '--eval-interval', '3', '--json'];

test('train --output adaptive --cutoffs: the folder records the head, ids are frequency-sorted, generate reads it', async (t) => {
  const { dir, data } = setup(t);
  const out = join(dir, 'adaptive');
  const summary = JSON.parse(await runCli(['train', '--data', data, '--output', 'adaptive', '--cutoffs', '4,10', '--div-value', '2', '--out', out, ...QUICK]));
  assert.equal(summary.steps, 3);
  assert.ok(Number.isFinite(summary.val_loss) && summary.val_loss > 0);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.output, 'adaptive');
  assert.deepEqual(config.adaptive_cutoffs, [4, 10]);
  assert.equal(config.adaptive_div_value, 2);
  const { model, tokenizer } = loadCausalLM(out);
  assert.ok(model instanceof GPT && model.adaptive_head !== null);
  assert.deepEqual(model.adaptive_head.cutoffs, [4, 10, tokenizer.vocabSize]);
  // The corpus's most frequent character is the space: id 0 after the frequency sort.
  assert.equal(tokenizer.idToToken(0), ' ');
  const generated = JSON.parse(await runCli(['generate', '--model', out, '--prompt', 'It was', '--max-new-tokens', '5', '--temperature', '0', '--json']));
  assert.equal(generated.ids.length, 5);
  assert.ok(generated.ids.every((id: number) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize));
});

test('train without --output keeps the full softmax: config.json has no adaptive fields', async (t) => {
  const { dir, data } = setup(t);
  const out = join(dir, 'full');
  await runCli(['train', '--data', data, '--out', out, ...QUICK]);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  for (const field of ['output', 'adaptive_cutoffs', 'adaptive_div_value']) assert.equal(field in config, false, field);
});

test('--cutoffs parses a comma list and refuses what is not strictly increasing positive integers', () => {
  assert.deepEqual(cutoffsOption('2000,10000'), [2000, 10000]);
  assert.deepEqual(cutoffsOption('5'), [5]);
  assert.throws(() => cutoffsOption('10000,2000'), /--cutoffs must be strictly increasing, got "10000,2000" \(2000 after 10000\)/);
  assert.throws(() => cutoffsOption('2000,2000'), /strictly increasing/);
  assert.throws(() => cutoffsOption('20x,30'), /--cutoffs must be positive integers/);
  assert.throws(() => cutoffsOption('0,3'), /--cutoffs must be positive integers/);
});

test('bad adaptive flags give clear errors: cutoffs at or past the vocabulary, missing cutoffs, cutoffs without adaptive, llama', async (t) => {
  const { data } = setup(t);
  // The char vocabulary of the corpus is small (≈ 25 tokens): a cutoff of 500 leaves the last cluster empty.
  await assert.rejects(runCli(['train', '--data', data, '--output', 'adaptive', '--cutoffs', '10,500', ...QUICK]), /adaptive_cutoffs\[1\] = 500 must be below vocab_size \d+/);
  await assert.rejects(runCli(['train', '--data', data, '--output', 'adaptive', '--cutoffs', '10,5', ...QUICK]), /--cutoffs must be strictly increasing/);
  await assert.rejects(runCli(['train', '--data', data, '--output', 'adaptive', ...QUICK]), /--output adaptive needs --cutoffs/);
  await assert.rejects(runCli(['train', '--data', data, '--cutoffs', '4,10', ...QUICK]), /--cutoffs and --div-value need --output adaptive/);
  await assert.rejects(runCli(['train', '--data', data, '--output', 'adaptive', '--cutoffs', '4,10', '--arch', 'llama', ...QUICK]), /--output adaptive is for --arch gpt/);
  await assert.rejects(runCli(['train', '--data', data, '--output', 'softmax', ...QUICK]), /--output must be one of full, adaptive, got "softmax"/);
});
