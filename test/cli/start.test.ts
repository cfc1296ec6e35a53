import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/program.ts';
import { runCli } from './run-cli.ts';


test('the start job trains on the shipped corpus, saves a folder and generates (few steps)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-start-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = JSON.parse(await runCli(['start', '--steps', '2', '--out', dir, '--json']));
  assert.equal(out.steps, 2);
  assert.ok(out.val_loss > 0 && out.unigram_loss > 0);
  assert.equal(typeof out.sample, 'string');
  for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'generation_config.json', 'trainer_state.json']) {
    assert.ok(existsSync(join(dir, file)), file);
  }
});

test('every command has --help', () => {
  const program = buildProgram();
  for (const name of ['start', 'train', 'generate', 'eval', 'tokenizer', 'attention']) {
    const command = program.commands.find((c) => c.name() === name);
    assert.ok(command, name);
    assert.match(command.helpInformation(), /Usage:/);
  }
});
