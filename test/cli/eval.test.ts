import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/program.ts';
import { GPT } from '../../src/models/gpt.ts';
import { saveGPT } from '../../src/models/gpt-folder.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { evaluatePerplexity } from '../../src/eval/perplexity.ts';

test('eval --json prints loss, perplexity and tokens, equal to the library call', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-eval-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(4);
  const tokenizer = trainCharTokenizer(text);
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 16, n_head: 2, n_positions: 16 }, { rng: new Rng(2) });
  saveGPT(dir, model, tokenizer);
  const data = join(dir, 'text.txt');
  writeFileSync(data, text);
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    await buildProgram().exitOverride().parseAsync(['eval', '--model', dir, '--data', data, '--json'], { from: 'user' });
  } finally {
    console.log = original;
  }
  const out = JSON.parse(lines.join('\n'));
  const expected = evaluatePerplexity(model, tokenizer, text);
  assert.equal(out.tokens, expected.tokens);
  assert.ok(Math.abs(out.loss - expected.loss) < 1e-6);
  assert.ok(Math.abs(out.perplexity - Math.exp(out.loss)) < 1e-9);
});
