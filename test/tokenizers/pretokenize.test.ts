import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BertPreTokenizer, ByteLevelPreTokenizer, WhitespaceSplitPreTokenizer } from '../../src/tokenizers/pretokenize.ts';

test('GPT-2 split: contractions, letters with their leading space, numbers, symbols, whitespace runs', () => {
  const pre = new ByteLevelPreTokenizer();
  assert.deepEqual(pre.split("Hello world, I'm 42!"), ['Hello', ' world', ',', ' I', "'m", ' 42', '!']);
  // A whitespace run keeps all but its last character; a last space goes with the next word.
  assert.deepEqual(pre.split('a   b\n\nc  '), ['a', '  ', ' b', '\n', '\n', 'c', '  ']);
  assert.deepEqual(pre.split('你好 世界'), ['你好', ' 世界']);
  assert.equal(pre.split('x\u0001y').join(''), 'x\u0001y');
  assert.equal(pre.toModelAlphabet(' world'), 'Ġworld');
});

test('GPT-2 split with add_prefix_space and without the regex', () => {
  assert.deepEqual(new ByteLevelPreTokenizer({ addPrefixSpace: true }).split('Hello'), [' Hello']);
  assert.deepEqual(new ByteLevelPreTokenizer({ useRegex: false }).split('Hello world'), ['Hello world']);
  assert.deepEqual(new ByteLevelPreTokenizer().split(''), []);
});

test('BERT split: whitespace dropped, every punctuation character on its own', () => {
  const pre = new BertPreTokenizer();
  assert.deepEqual(pre.split("Don't stop -- now!"), ['Don', "'", 't', 'stop', '-', '-', 'now', '!']);
  assert.deepEqual(pre.split('$5 + 3=8 «quote»'), ['$', '5', '+', '3', '=', '8', '«', 'quote', '»']);
  assert.deepEqual(pre.split('  a\tb\n'), ['a', 'b']);
  assert.deepEqual(new WhitespaceSplitPreTokenizer().split(' a,b  c '), ['a,b', 'c']);
});
