import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli.ts';
import { EXPERIMENTS } from '../../src/lab/registry.ts';

test('qkv lab --list prints one line per registered experiment', async () => {
  const lines = (await runCli(['lab', '--list'])).split('\n');
  assert.equal(lines.length, EXPERIMENTS.length);
  assert.ok(lines[0].startsWith('scaling '));
  assert.deepEqual(lines.map((line) => line.split(' ')[0]), EXPERIMENTS.map((e) => e.name));
  const help = await runCli(['lab', 'scaling', '--help-params']);
  assert.match(help, /--dks <v> +d_k values, comma-separated \(default 16,32,64,128,256,512,1024, quick 16,64,256,1024\)/);
});

test('qkv lab scaling --json with parameter flags writes the SVG and HTML and reports the rows', async () => {
  const out = mkdtempSync(join(tmpdir(), 'qkv-lab-'));
  const printed = await runCli(['lab', 'scaling', '--quick', '--json', '--out', out, '--dks', '16,512', '--steps', '3', '--param', 'keys=8']);
  const report = JSON.parse(printed);
  assert.equal(report.params.dks, '16,512');
  assert.equal(report.params.keys, 8);
  assert.equal(report.rows.filter((row: unknown[]) => row[0] === 'scaled').length, 2);
  assert.ok(readFileSync(join(out, 'scaling.svg'), 'utf8').startsWith('<svg'));
  assert.ok(readFileSync(join(out, 'scaling.html'), 'utf8').includes('<td>512</td>'));
  await assert.rejects(runCli(['lab', 'scaling', '--quick', '--out', out, '--nope', '1']), /unknown parameter 'nope'/);
  await assert.rejects(runCli(['lab', 'nosuch']), /no experiment 'nosuch'/);
});
