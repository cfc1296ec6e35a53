import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';


function setup(t: { after(fn: () => void): void }): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-train-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'corpus.txt');
  writeFileSync(data, 'It was the best of times, it was the worst of times. '.repeat(30));
  return { dir, data };
}

const QUICK = ['--config', 'tiny', '--steps', '2', '--batch-size', '2', '--block-size', '16', '--eval-interval', '2', '--json'];

test('train --arch llama (tiny, 2 steps) writes a Llama folder that generate reads through model_type', async (t) => {
  const { dir, data } = setup(t);
  const out = join(dir, 'llama');
  const summary = JSON.parse(await runCli(['train', '--data', data, '--arch', 'llama', '--kv-heads', '2', '--out', out, ...QUICK]));
  assert.equal(summary.arch, 'llama');
  assert.equal(summary.steps, 2);
  assert.ok(summary.val_loss > 0);
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json', 'trainer_state.json']) {
    assert.ok(existsSync(join(out, file)), file);
  }
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.model_type, 'llama');
  assert.equal(config.num_key_value_heads, 2);

  const generated = JSON.parse(await runCli(['generate', '--model', out, '--prompt', 'It was', '--max-new-tokens', '5', '--temperature', '0', '--json']));
  assert.equal(generated.prompt_ids.length, 6);
  assert.equal(generated.ids.length, 5);
  assert.equal(typeof generated.text, 'string');
});

test('train without --arch builds a GPT (model_type gpt2)', async (t) => {
  const { dir, data } = setup(t);
  const out = join(dir, 'gpt');
  const summary = JSON.parse(await runCli(['train', '--data', data, '--out', out, ...QUICK]));
  assert.equal(summary.arch, 'gpt');
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model_type, 'gpt2');
});

test('a bad --arch and --kv-heads without llama are refused', async (t) => {
  const { data } = setup(t);
  await assert.rejects(runCli(['train', '--data', data, '--arch', 'rwkv', ...QUICK]), /--arch must be one of gpt, llama, got "rwkv"/);
  await assert.rejects(runCli(['train', '--data', data, '--kv-heads', '2', ...QUICK]), /--kv-heads needs --arch llama/);
});

test('SIGINT during qkv train saves a checkpoint and exits cleanly; --resume continues it', async (t) => {
  const { spawn } = await import('node:child_process');
  const { dir, data } = setup(t);
  const out = join(dir, 'run');
  const main = new URL('../../src/cli/main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'train', '--data', data, '--config', 'tiny', '--steps', '400',
    '--batch-size', '2', '--block-size', '16', '--eval-interval', '1000', '--out', out, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const metrics = join(out, 'metrics.jsonl');
  const deadline = Date.now() + 60_000;
  while (!(existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 3) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130);
  const summary = JSON.parse(stdout);
  assert.equal(summary.interrupted, true);
  const state = JSON.parse(readFileSync(join(out, 'trainer_state.json'), 'utf8'));
  assert.equal(state.global_step, summary.steps);
  assert.ok(summary.steps >= 3 && summary.steps < 400, `stopped at step ${summary.steps}`);
  // The checkpoint is complete and consistent: resuming picks it up and finishes the run.
  const resumed = JSON.parse(await runCli(['train', '--data', data, '--out', out, '--resume', '--json']));
  assert.equal(resumed.steps, 400);
});

test('train --position rope writes the scheme into config.json; a bad scheme is named', async (t) => {
  const { dir, data } = setup(t);
  const out = join(dir, 'rope');
  await runCli(['train', '--data', data, '--position', 'rope', '--out', out, ...QUICK]);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).position, 'rope');
  await assert.rejects(runCli(['train', '--data', data, '--position', 'spiral', '--out', out, ...QUICK]), /--position must be one of learned, sinusoidal, rope, alibi, relative, none, got "spiral"/);
});
