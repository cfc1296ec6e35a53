import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { getEncoding } from 'js-tiktoken';
import { QkvFormatError } from '../../src/tokenizers/errors.ts';
import { buildGpt2Tokenizer, GPT2_EOS, loadGpt2Tokenizer } from '../../src/tokenizers/gpt2.ts';
import { variedText } from './fixtures.ts';

const gpt2 = loadGpt2Tokenizer();
const tiktoken = getEncoding('gpt2');

test('the issue example gives GPT-2 ids', () => {
  assert.deepEqual(gpt2.encodeIds('Hello world, 你好世界'), [15496, 995, 11, 220, 19526, 254, 25001, 121, 10310, 244, 45911, 234]);
  assert.equal(gpt2.vocabSize, 50257);
});

test('ids equal js-tiktoken (gpt2 ranks) on ≥20 KB of varied text', () => {
  const text = variedText();
  assert.ok(Buffer.byteLength(text) >= 20_000, `varied text is ${Buffer.byteLength(text)} bytes`);
  const expected = tiktoken.encode(text);
  const got = gpt2.encodeIds(text);
  const first = got.findIndex((id, i) => id !== expected[i]);
  assert.ok(
    first < 0 && got.length === expected.length,
    `first difference at token ${first}: qkv ${got[first]} vs js-tiktoken ${expected[first]} near ${JSON.stringify(gpt2.decode(got.slice(Math.max(0, first - 5), first + 5)))}`,
  );
  // Line by line too: small pieces start words differently from one long text.
  for (const line of text.split('\n')) assert.deepEqual(gpt2.encodeIds(line), tiktoken.encode(line), JSON.stringify(line));
});

test('decode(encode(s)) === s for every string: emoji, CJK, controls, lone surrogates', () => {
  for (const text of [variedText(), '', ' ', '\u0000', '\ud800', 'x\udfffy', '🎉\ud83d', 'a'.repeat(5000), '\t\n\r\u000b\u000c']) {
    assert.equal(gpt2.decode(gpt2.encodeIds(text)), text);
  }
});

test('decode(encode(s)) === s on random strings of any UTF-16 code units, and ids match js-tiktoken on well-formed ones', () => {
  let seed = 12345;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  const pools = [[0x00, 0x7f], [0x80, 0x7ff], [0x3000, 0x9fff], [0xd800, 0xdfff], [0xe000, 0xffff], [0x20, 0x7e]];
  for (let trial = 0; trial < 300; trial++) {
    let text = '';
    const length = random(40);
    for (let i = 0; i < length; i++) {
      const [lo, hi] = pools[random(pools.length)];
      text += String.fromCharCode(lo + random(hi - lo + 1));
    }
    const ids = gpt2.encodeIds(text);
    assert.equal(gpt2.decode(ids), text, JSON.stringify(text));
    const wellFormed = !/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
    if (wellFormed) assert.deepEqual(ids, tiktoken.encode(text, [], []), JSON.stringify(text));
  }
});

test('<|endoftext|> is one special token, never split, skippable when decoding', () => {
  const ids = gpt2.encodeIds('end.<|endoftext|>Start');
  assert.deepEqual(ids, tiktoken.encode('end.<|endoftext|>Start', 'all'));
  assert.ok(ids.includes(50256));
  assert.equal(gpt2.tokenToId(GPT2_EOS), 50256);
  assert.equal(gpt2.decode(ids), 'end.<|endoftext|>Start');
  assert.equal(gpt2.decode(ids, { skipSpecialTokens: true }), 'end.Start');
});

test('encode returns tokens in the byte alphabet; decode rejects ids outside the vocabulary', () => {
  assert.deepEqual(gpt2.encode('Hello world').tokens, ['Hello', 'Ġworld']);
  assert.throws(() => gpt2.decode([50257]), /id 50257 is not in the vocabulary/);
});

test('a malformed vocab.bpe names the file and the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-gpt2-'));
  writeFileSync(join(dir, 'encoder.json'), JSON.stringify({ a: 0, b: 1, ab: 2 }));
  writeFileSync(join(dir, 'vocab.bpe'), '#version: 0.2\na b c\n');
  assert.throws(() => buildGpt2Tokenizer(join(dir, 'encoder.json'), join(dir, 'vocab.bpe')), (e: Error) => e instanceof QkvFormatError && /vocab\.bpe: field "line 2"/.test(e.message));
  writeFileSync(join(dir, 'encoder.json'), '{"a": 0, "b":');
  assert.throws(() => buildGpt2Tokenizer(join(dir, 'encoder.json'), join(dir, 'vocab.bpe')), QkvFormatError);
});
