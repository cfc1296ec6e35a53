import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../../src/models/gpt.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { runCli } from './run-cli.ts';

test('qkv quantize --bits 8|4 writes a folder that qkv generate and qkv eval read like any other', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-quant-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(4);
  const tokenizer = trainCharTokenizer(text);
  saveGPT(join(dir, 'f32'), new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 64, n_head: 2, n_positions: 32 }, { rng: new Rng(2) }), tokenizer);
  const data = join(dir, 'text.txt');
  writeFileSync(data, text);
  const evalOf = async (model: string) => JSON.parse(await runCli(['eval', '--model', model, '--data', data, '--json']));
  const base = await evalOf(join(dir, 'f32'));
  for (const bits of ['8', '4']) {
    const out = join(dir, `q${bits}`);
    const summary = JSON.parse(await runCli(['quantize', '--model', join(dir, 'f32'), '--bits', bits, '--out', out, '--json']));
    assert.equal(summary.format, bits === '8' ? 'q8_0' : 'q4_0');
    assert.equal(summary.layers, 5); // c_attn, attn c_proj, c_fc, mlp c_proj, and the tied LM head
    assert.ok(summary.size_bytes_after < summary.size_bytes_before);
    const generated = JSON.parse(await runCli(['generate', '--model', out, '--prompt', 'the ', '--max-new-tokens', '5', '--temperature', '0', '--json']));
    assert.equal(generated.ids.length, 5);
    const evaluated = await evalOf(out);
    assert.equal(evaluated.tokens, base.tokens);
    assert.ok(Math.abs(evaluated.loss - base.loss) < 0.05, `${bits}-bit loss ${evaluated.loss} vs ${base.loss}`);
  }
  await assert.rejects(runCli(['quantize', '--model', join(dir, 'f32'), '--bits', '3', '--out', join(dir, 'x')]), /--bits must be one of 8, 4/);
});
