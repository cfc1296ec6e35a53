import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';
import { GPT } from '../../src/models/gpt.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { Rng } from '../../src/tensor/random.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';

function workspace(t: { after(fn: () => void): void }): { dir: string; base: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-adapt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenizer = trainCharTokenizer('0123456789+-=!', { specialTokens: ['<|endoftext|>'] });
  const base = join(dir, 'base');
  saveGPT(base, new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16, initializer_range: 0.3 }, { rng: new Rng(1) }), tokenizer);
  return { dir, base };
}

test('finetune --lora, generate --adapter, merge: the merged folder generates what base + adapter generates', async (t) => {
  const { dir, base } = workspace(t);
  const data = join(dir, 'sums.jsonl');
  await runCli(['align', 'data', '--task', 'instructions', '--count', '50', '--max-operand', '9', '--out', data]);
  assert.equal(readFileSync(data, 'utf8').trim().split('\n').length, 50);
  const adapter = join(dir, 'adapter');
  const summary = JSON.parse(await runCli(['finetune', '--model', base, '--data', data, '--out', adapter, '--lora', '--r', '2', '--target', 'c_attn,c_fc', '--steps', '8', '--lr', '0.02', '--json']));
  assert.equal(summary.mode, 'lora');
  assert.equal(summary.trainable_parameters, 2 * (16 + 48) + 2 * (16 + 64));
  assert.ok(summary.held_out_loss < summary.base_held_out_loss);
  assert.equal(JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8')).lora_alpha, 4); // default alpha = 2r
  const generateArgs = ['--prompt', '3+4=', '--max-new-tokens', '4', '--temperature', '0', '--json'];
  const withAdapter = JSON.parse(await runCli(['generate', '--model', base, '--adapter', adapter, ...generateArgs]));
  const merged = join(dir, 'merged');
  const mergeSummary = JSON.parse(await runCli(['merge', '--model', base, '--adapter', adapter, '--out', merged, '--json']));
  assert.equal(mergeSummary.merged_layers, 2);
  const fromMerged = JSON.parse(await runCli(['generate', '--model', merged, ...generateArgs]));
  assert.deepEqual(fromMerged.ids, withAdapter.ids);
  await assert.rejects(runCli(['finetune', '--model', base, '--data', data, '--out', join(dir, 'x'), '--lora', '--target', 'q_proj', '--steps', '1']), /target modules \["q_proj"\] not found/);
});

test('reward train/score, align dpo --lora and align rl print their summaries with TRL names, reward, KL and quality', async (t) => {
  const { dir, base } = workspace(t);
  const prefs = join(dir, 'prefs.jsonl');
  await runCli(['align', 'data', '--task', 'preferences', '--count', '40', '--max-operand', '9', '--suffix-rate', '1', '--out', prefs]);
  const rm = join(dir, 'rm');
  const reward = JSON.parse(await runCli(['reward', 'train', '--model', base, '--data', prefs, '--out', rm, '--steps', '15', '--batch-size', '8', '--lr', '0.01', '--json']));
  assert.ok(reward.pairwise_accuracy >= 0.75, `accuracy ${reward.pairwise_accuracy}`);
  const scored = JSON.parse(await runCli(['reward', 'score', '--model', rm, '--data', prefs, '--json']));
  assert.equal(scored.pairs, 40);
  const single = JSON.parse(await runCli(['reward', 'score', '--model', rm, '--prompt', '1+1=', '--completion', '2!', '--json']));
  assert.equal(typeof single.reward, 'number');

  const dpo = JSON.parse(await runCli(['align', 'dpo', '--model', base, '--data', prefs, '--out', join(dir, 'dpo'), '--lora', '--r', '2', '--target', 'c_attn', '--steps', '4', '--json']));
  assert.equal(dpo.reference, 'adapters-disabled');
  for (const key of ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected', 'kl']) assert.equal(typeof dpo.after[key], 'number', key);
  assert.ok(Math.abs(dpo.before.loss - Math.LN2) < 1e-6);
  assert.ok(dpo.kl_held_out_prompts >= 0 && Number.isFinite(dpo.kl_held_out_prompts));
  const log = readFileSync(join(dir, 'dpo', 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(log.length, 4);
  assert.ok('rewards/margins' in log[0]);

  const rl = JSON.parse(await runCli(['align', 'rl', '--model', base, '--reward-model', rm, '--prompts', prefs, '--kl-coef', '0', '--steps', '2', '--eval-interval', '2', '--samples', '2', '--prompts-per-step', '2', '--max-new-tokens', '3', '--best-of-n', '2', '--json']));
  assert.deepEqual(rl.evaluations.map((e: { step: number }) => e.step), [0, 2]);
  assert.equal(rl.evaluations[0].kl, 0);
  for (const key of ['reward', 'kl', 'quality']) assert.equal(typeof rl.evaluations[1][key], 'number');
  assert.equal(rl.best_of_n.kl_bound, Number((Math.log(2) - 0.5).toFixed(4)));
});
