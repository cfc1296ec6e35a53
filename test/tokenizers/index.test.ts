import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tokenizers from '../../src/tokenizers/index.ts';

test('the tokenizers module exports the public API', () => {
  for (const name of ['Tokenizer', 'BpeModel', 'WordPieceModel', 'trainBpe', 'trainWordPiece', 'trainCharTokenizer', 'loadGpt2Tokenizer', 'loadTokenizer', 'saveTokenizer', 'tokenizerFromJson', 'tokenizerToJson', 'QkvFormatError', 'bytesPerToken', 'unknownWordRate']) {
    assert.ok(name in tokenizers, name);
  }
  assert.deepEqual(tokenizers.loadGpt2Tokenizer().encodeIds('Hello world'), [15496, 995]);
});
