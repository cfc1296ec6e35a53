import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BertNormalizer,
  cleanText,
  isCjkIdeograph,
  LowercaseNormalizer,
  SequenceNormalizer,
  StripAccentsNormalizer,
  stripAccents,
  UnicodeNormalizer,
} from '../../src/tokenizers/normalizer.ts';

test('uncased BERT lower-cases and strips accents', () => {
  const normalizer = new BertNormalizer();
  assert.equal(normalizer.normalize('Héllo CAFÉ Ærø naïve'), 'hello cafe ærø naive');
});

test('cased BERT keeps case and accents unless told to strip them', () => {
  assert.equal(new BertNormalizer({ lowercase: false }).normalize('Héllo'), 'Héllo');
  assert.equal(new BertNormalizer({ lowercase: false, stripAccents: true }).normalize('Héllo'), 'Hello');
  assert.equal(new BertNormalizer({ lowercase: true, stripAccents: false }).normalize('Héllo'), 'héllo');
});

test('every CJK ideograph gets spaces around it; kana and hangul do not', () => {
  const normalizer = new BertNormalizer();
  assert.equal(normalizer.normalize('ab你好'), 'ab 你  好 ');
  assert.equal(new BertNormalizer({ lowercase: false }).normalize('カナ한'), 'カナ한');
  assert.equal(normalizer.normalize('𠀀'), ' 𠀀 '); // extension B, outside the BMP
  assert.ok(isCjkIdeograph(0x4e00) && isCjkIdeograph(0x20000) && !isCjkIdeograph(0x3042));
});

test('control characters are removed and whitespace becomes a space', () => {
  assert.equal(cleanText('a\u0000b\u0007c\ufffdd\u200be'), 'abcde');
  assert.equal(cleanText('a\tb\nc\r\u00a0d\u3000e'), 'a b c  d e');
});

test('simple normalizers and sequences', () => {
  assert.equal(stripAccents('àéîõü ñ'), 'aeiou n');
  const sequence = new SequenceNormalizer([new UnicodeNormalizer('NFD'), new StripAccentsNormalizer(), new LowercaseNormalizer()]);
  assert.equal(sequence.normalize('Ça Va'), 'ca va');
  assert.deepEqual(sequence.toJSON(), { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] });
});
