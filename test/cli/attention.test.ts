import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { heatmapFormatOf, registerAttentionCommand } from '../../src/cli/attention.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { Tensor } from '../../src/tensor/tensor.ts';
import { SAMPLE_TEXT, tinyModel } from '../lab/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-attention-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const modelDir = join(dir, 'model');
const { model, tokenizer } = tinyModel();
saveGPT(modelDir, model, tokenizer);

/** Runs `qkv attention …args`; returns what the command printed. */
async function qkv(args: string[]): Promise<string> {
  let output = '';
  const program = new Command('qkv').exitOverride().configureOutput({ writeErr: () => {} });
  registerAttentionCommand(program, { write: (text) => void (output += text) });
  await program.parseAsync(['attention', '--model', modelDir, ...args], { from: 'user' });
  return output;
}

test('the format follows the extension; anything else is refused by name', () => {
  assert.equal(heatmapFormatOf('a/b.HTML'), 'html');
  assert.equal(heatmapFormatOf('x.htm'), 'html');
  assert.equal(heatmapFormatOf('x.svg'), 'svg');
  assert.equal(heatmapFormatOf('x.png'), 'png');
  assert.throws(() => heatmapFormatOf('x.jpg'), /--out x\.jpg: the extension must be \.html, \.svg or \.png, got "\.jpg"/);
  assert.throws(() => heatmapFormatOf('x'), /got "\(none\)"/);
});

test('writes HTML, SVG and PNG with every head of the saved model', async () => {
  for (const extension of ['html', 'svg', 'png']) {
    const out = join(dir, `all.${extension}`);
    const printed = await qkv(['--text', SAMPLE_TEXT, '--out', out]);
    assert.match(printed, new RegExp(`^wrote .*all\\.${extension} \\(${extension}.*\\): 4 panels \\(model: 2 layers × 2 heads\\), 26 tokens\\n$`));
    assert.ok(existsSync(out), out);
  }
  const html = readFileSync(join(dir, 'all.html'), 'utf8');
  assert.equal(html.match(/<svg [^>]*class="panel"/g)?.length, 4);
  const svg = readFileSync(join(dir, 'all.svg'), 'utf8');
  assert.equal(svg.match(/<svg [^>]*class="panel"/g)?.length, 4);
  const png = readFileSync(join(dir, 'all.png'));
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
});

test('--layer/--head draw one panel; --json prints the weights the loaded model computes', async () => {
  const out = join(dir, 'one.png');
  const result = JSON.parse(await qkv(['--text', 'the jury', '--layer', '1', '--head', '0', '--out', out, '--json']));
  assert.equal(result.out, out);
  assert.equal(result.format, 'png');
  assert.equal(readFileSync(out).readUInt32BE(16), result.width, 'IHDR width is the printed width');
  assert.equal(readFileSync(out).readUInt32BE(20), result.height, 'IHDR height is the printed height');
  assert.deepEqual(result.tokens, ['t', 'h', 'e', ' ', 'j', 'u', 'r', 'y']);
  assert.equal(result.maps.length, 1);
  assert.deepEqual([result.maps[0].layer, result.maps[0].head], [1, 0]);
  // the folder round-trips the weights exactly, so the drawn weights are the in-memory model's
  model.forward(Tensor.from(result.ids, [1, result.ids.length]), { returnAttention: true });
  const reference = model.attentionWeights()[1]!;
  result.maps[0].weights.forEach((row: number[], i: number) =>
    row.forEach((weight, j) => assert.equal(weight, reference.get(0, 0, i, j), `[${i}][${j}]`)),
  );

  const printedOnly = JSON.parse(await qkv(['--text', 'said', '--json']));
  assert.equal(printedOnly.out, undefined);
  assert.equal(printedOnly.maps.length, 4);
});

test('errors: no output asked for, a bad extension, a layer or head out of range', async () => {
  await assert.rejects(qkv(['--text', 'said']), /give --out FILE\.html\|\.svg\|\.png, or --json/);
  await assert.rejects(qkv(['--text', 'said', '--out', join(dir, 'x.gif')]), /extension must be \.html, \.svg or \.png/);
  await assert.rejects(qkv(['--text', 'said', '--layer', '7', '--json']), /layer 7 is out of range: the model has 2 layers/);
  await assert.rejects(qkv(['--text', 'said', '--head', '2', '--json']), /head 2 is out of range/);
  await assert.rejects(qkv(['--text', 'said', '--head', '-1', '--json']), /--head must be an integer ≥ 0/);
  assert.ok(!existsSync(join(dir, 'x.gif')));
});

test('--help describes the command', () => {
  const program = new Command('qkv');
  registerAttentionCommand(program);
  const help = program.commands.find((c) => c.name() === 'attention')!.helpInformation();
  assert.match(help, /--model <dir>/);
  assert.match(help, /--out <file>/);
  assert.match(help, /\.html, \.svg or \.png/);
});
