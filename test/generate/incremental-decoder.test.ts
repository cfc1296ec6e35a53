import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncrementalDecoder } from '../../src/generate/incremental-decoder.ts';

/** A byte-level "tokenizer": token id = one byte; decode is lenient UTF-8 (U+FFFD for bad bytes). */
const utf8 = new TextDecoder('utf-8', { fatal: false });
const decodeBytes = (ids: readonly number[]) => utf8.decode(Uint8Array.from(ids));
const bytesOf = (text: string) => [...new TextEncoder().encode(text)];

test('characters split across byte tokens are emitted only once complete', () => {
  const decoder = new IncrementalDecoder(decodeBytes);
  const pieces = bytesOf('aé€😀b').map((id) => decoder.push(id));
  // a | é = C3 A9 | € = E2 82 AC | 😀 = F0 9F 98 80 | b
  assert.deepEqual(pieces, ['a', '', 'é', '', '', '€', '', '', '', '😀', 'b']);
  assert.equal(decoder.flush(), '');
  for (const piece of pieces) assert.ok(!piece.includes('\uFFFD'), `piece ${JSON.stringify(piece)}`);
});

test('pieces joined equal the full decode, for every text', () => {
  for (const text of ['', 'plain ascii', 'naïve café', '日本語のテキスト', 'mixed 😀👍🏽 emoji', 'Ω≈ç√∫']) {
    const decoder = new IncrementalDecoder(decodeBytes);
    let joined = '';
    for (const id of bytesOf(text)) joined += decoder.push(id);
    joined += decoder.flush();
    assert.equal(joined, text);
  }
});

test('a truly invalid byte is released at the end of the stream, as U+FFFD', () => {
  const decoder = new IncrementalDecoder(decodeBytes);
  assert.equal(decoder.push(0x68), 'h');
  assert.equal(decoder.push(0xe2), '');
  assert.equal(decoder.push(0x82), '');
  assert.equal(decoder.flush(), '\uFFFD');
  assert.equal(decoder.text, 'h\uFFFD');
});

test('a replacement character in the middle is released once text follows it', () => {
  const decoder = new IncrementalDecoder(decodeBytes);
  assert.equal(decoder.push(0xff), '');
  assert.equal(decoder.push(0x61), '\uFFFDa');
});

test('multi-character tokens', () => {
  const vocab = ['Hello', ',', ' wor', 'ld', '!'];
  const decoder = new IncrementalDecoder((ids) => ids.map((id) => vocab[id]).join(''));
  assert.deepEqual([0, 1, 2, 3, 4].map((id) => decoder.push(id)), ['Hello', ',', ' wor', 'ld', '!']);
});
