import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toByteLevel } from '../../src/tokenizers/byte-level.ts';
import { ByteLevelDecoder, cleanupTokenizationSpaces, FuseDecoder, WordPieceDecoder } from '../../src/tokenizers/decoder.ts';

test('ByteLevel decoder maps characters back to bytes, across token boundaries', () => {
  const decoder = new ByteLevelDecoder();
  const bytes = toByteLevel(' 你好'); // 7 characters, one per byte
  assert.equal(decoder.decode([bytes.slice(0, 3), bytes.slice(3)]), ' 你好');
  assert.equal(decoder.decode(['Hello', 'Ġworld']), 'Hello world');
  assert.equal(decoder.decode([bytes.slice(0, 3)]), ' \ufffd\ufffd'); // a cut character
  // A token outside the byte alphabet (an added token) stands for itself.
  assert.equal(decoder.decode(['Hi', '<|im_start|>', 'Ġ€', 'Ċ']), 'Hi<|im_start|> €\n');
});

test('WordPiece decoder joins ## pieces and cleans punctuation spacing per token', () => {
  const decoder = new WordPieceDecoder();
  assert.equal(decoder.decode(['un', '##aff', '##able', 'cat', ',', 'it', "'", 's', '.']), "unaffable cat, it ' s.");
  assert.equal(new WordPieceDecoder('##', false).decode(['a', ',', 'b']), 'a , b');
  assert.equal(cleanupTokenizationSpaces("it 's do n't ."), "it's don't.");
});

test('Fuse concatenates', () => {
  assert.equal(new FuseDecoder().decode(['a', ' ', 'b']), 'a b');
  assert.deepEqual(new FuseDecoder().toJSON(), { type: 'Fuse' });
});
