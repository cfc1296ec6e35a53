import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BYTE_TO_CHAR, byteLevelAlphabet, byteLevelToBytes, decodeWtf8, toByteLevel, wtf8Length } from '../../src/tokenizers/byte-level.ts';

test('the byte map gives 256 distinct printable characters, as GPT-2 does', () => {
  assert.equal(new Set(BYTE_TO_CHAR).size, 256);
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ');
  assert.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  assert.equal(BYTE_TO_CHAR[0x41], 'A');
  assert.equal(BYTE_TO_CHAR[0x00], 'Ā');
  assert.deepEqual(byteLevelAlphabet(), [...BYTE_TO_CHAR]);
});

test('toByteLevel writes the UTF-8 bytes of text in the byte alphabet', () => {
  assert.equal(toByteLevel(' world'), 'Ġworld');
  assert.equal(toByteLevel('你'), 'ä½ł');
  const text = 'héllo 你好 🎉\n';
  assert.deepEqual(byteLevelToBytes(toByteLevel(text)), [...Buffer.from(text, 'utf8')]);
  assert.equal(wtf8Length(text), Buffer.byteLength(text, 'utf8'));
});

test('decodeWtf8 inverts the encoding for every string, lone surrogates included', () => {
  for (const text of ['', 'plain', 'é你🎉', '\u0000\u007f\u0080\u07ff\u0800\uffff', '\ud800', 'a\udc00b', '\udbff\ud800', '\ud83d']) {
    const bytes = byteLevelToBytes(toByteLevel(text))!;
    assert.equal(decodeWtf8(bytes), text, JSON.stringify(text));
    assert.equal(wtf8Length(text), bytes.length);
  }
});

test('decodeWtf8 turns bytes that form no character into U+FFFD, one per byte', () => {
  assert.equal(decodeWtf8([0xe4, 0xbd]), '\ufffd\ufffd'); // a cut 3-byte sequence
  assert.equal(decodeWtf8([0xc0, 0x80]), '\ufffd\ufffd'); // overlong NUL
  assert.equal(decodeWtf8([0x41, 0xff, 0x42]), 'A\ufffdB');
  assert.equal(byteLevelToBytes('aZ€'), undefined); // € is not a byte character
});
