import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { parseIds, registerTokenizerCommands } from '../../src/cli/tokenizer.ts';
import { QkvFormatError } from '../../src/tokenizers/errors.ts';
import { QkvFormatError as IoFormatError } from '../../src/io/errors.ts';
import { loadGpt2Tokenizer } from '../../src/tokenizers/gpt2.ts';
import { loadTokenizer } from '../../src/tokenizers/tokenizer-json.ts';
import { trainingText } from '../tokenizers/fixtures.ts';

/** Runs `qkv …args` with stdin text; returns what the command printed. */
async function qkv(args: string[], stdin = ''): Promise<string> {
  let output = '';
  const program = new Command('qkv').exitOverride();
  registerTokenizerCommands(program, { write: (text) => void (output += text), readStdin: async () => stdin });
  await program.parseAsync(args, { from: 'user' });
  return output;
}

const dir = mkdtempSync(join(tmpdir(), 'qkv-cli-tokenizer-'));
const corpus = join(dir, 'corpus.txt');
writeFileSync(corpus, trainingText(60_000));

test('encode with gpt2 from an argument or stdin, as ids, tokens or JSON', async () => {
  assert.equal(await qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2', 'Hello', 'world']), '15496 995\n');
  assert.equal(await qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2'], 'Hello world\n'), '15496 995\n');
  assert.equal(await qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2', '--tokens', 'Hello world']), '15496 995\n"Hello" "Ġworld"\n');
  assert.deepEqual(JSON.parse(await qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2', '--json', '--tokens', 'Hello world'])), { ids: [15496, 995], tokens: ['Hello', 'Ġworld'] });
});

test('decode from arguments, a JSON array on stdin, or encode --json output', async () => {
  assert.equal(await qkv(['tokenizer', 'decode', '--tokenizer', 'gpt2', '15496', '995']), 'Hello world\n');
  assert.equal(await qkv(['tokenizer', 'decode', '--tokenizer', 'gpt2'], '[15496, 995, 50256]'), 'Hello world<|endoftext|>\n');
  assert.equal(await qkv(['tokenizer', 'decode', '--tokenizer', 'gpt2', '--skip-special-tokens', '--json'], '{"ids": [15496, 995, 50256]}'), '{"text":"Hello world"}\n');
  assert.deepEqual(parseIds('1, 2 3\n'), [1, 2, 3]);
  assert.throws(() => parseIds('1 x'), /"x" is not a token id/);
});

test('train bpe writes DIR/tokenizer.json that encode and decode then use', async () => {
  const out = join(dir, 'bpe');
  const summary = JSON.parse(await qkv(['tokenizer', 'train', '--model', 'bpe', '--vocab-size', '500', '--out', out, '--json', corpus]));
  assert.equal(summary.vocab_size, 500);
  assert.ok(summary.bytes_per_token > 2, JSON.stringify(summary));
  assert.ok(existsSync(join(out, 'tokenizer.json')));
  const ids = (await qkv(['tokenizer', 'encode', '--tokenizer', out, 'The jury said'])).trim();
  assert.equal(await qkv(['tokenizer', 'decode', '--tokenizer', out, ids]), 'The jury said\n');
});

test('train wordpiece and char; encode adds [CLS]/[SEP] unless told not to', async () => {
  const out = join(dir, 'wordpiece');
  const text = await qkv(['tokenizer', 'train', '--model', 'wordpiece', '--vocab-size', '400', '--out', out, corpus]);
  assert.match(text, /trained wordpiece: 400 tokens/);
  const tokenizer = loadTokenizer(out);
  const withSpecials = JSON.parse(await qkv(['tokenizer', 'encode', '--tokenizer', out, '--json', '--tokens', 'The jury']));
  assert.deepEqual(withSpecials.tokens, tokenizer.encode('The jury').tokens);
  assert.equal(withSpecials.tokens[0], '[CLS]');
  const plain = JSON.parse(await qkv(['tokenizer', 'encode', '--tokenizer', out, '--json', '--tokens', '--no-special-tokens', 'The jury']));
  assert.notEqual(plain.tokens[0], '[CLS]');
  const chars = join(dir, 'char');
  await qkv(['tokenizer', 'train', '--model', 'char', '--out', chars, '--special-tokens', '<|endoftext|>', corpus]);
  assert.equal(loadTokenizer(chars).tokenToId('<|endoftext|>'), 0);
});

test('errors: an unknown model, a missing tokenizer file', async () => {
  await assert.rejects(qkv(['tokenizer', 'train', '--model', 'unigram', '--out', join(dir, 'x'), corpus]), /--model must be bpe, wordpiece or char/);
  await assert.rejects(qkv(['tokenizer', 'encode', '--tokenizer', join(dir, 'nowhere'), 'hi']), QkvFormatError);
});

test('encode --file encodes the bytes exactly (trailing newlines, CRLF, a BOM), where stdin drops one final newline', async () => {
  const text = '\uFEFFHello world\r\n\n';
  const file = join(dir, 'exact.txt');
  writeFileSync(file, text);
  const gpt2Ids = loadGpt2Tokenizer().encodeIds(text);
  assert.equal(await qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2', '--file', file]), gpt2Ids.join(' ') + '\n');
  // stdin: one final newline dropped, so the ids are those of the text without it.
  assert.equal(await qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2'], text), loadGpt2Tokenizer().encodeIds(text.slice(0, -1)).join(' ') + '\n');
  // "Hello world\n\n" by hand: GPT-2 merges the two newlines into one token, 628.
  writeFileSync(file, 'Hello world\n\n');
  assert.equal(await qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2', '--file', file]), '15496 995 628\n');
});

test('encode --file refuses bytes that are not UTF-8, and text given twice; --help says what stdin drops', async () => {
  const file = join(dir, 'latin1.txt');
  writeFileSync(file, Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
  await assert.rejects(qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2', '--file', file]), (error: unknown) => error instanceof IoFormatError && /latin1\.txt.*not valid UTF-8/.test(error.message));
  await assert.rejects(qkv(['tokenizer', 'encode', '--tokenizer', 'gpt2', '--file', file, 'hi']), /not both/);
  const program = new Command('qkv');
  registerTokenizerCommands(program);
  const encode = program.commands.find((c) => c.name() === 'tokenizer')!.commands.find((c) => c.name() === 'encode')!;
  assert.match(encode.helpInformation(), /one\s+trailing\s+newline\s+is\s+dropped/);
  assert.match(encode.helpInformation(), /--file <path>/);
});
