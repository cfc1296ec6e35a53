import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { WordPieceModel } from '../../src/tokenizers/wordpiece.ts';

const VOCAB = ['[UNK]', 'un', '##aff', '##able', 'runn', '##ing', 'run', '##n', 'a', '##a', '你', 'é', '##é'];

function pieces(model: WordPieceModel, word: string): string[] {
  const ids: number[] = [];
  model.tokenizeWord(word, ids);
  return ids.map((id) => model.idToToken(id)!);
}

const model = new WordPieceModel({ vocab: new Map(VOCAB.map((t, i) => [t, i])) });

test('unaffable → un ##aff ##able (worked out by hand)', () => {
  assert.deepEqual(pieces(model, 'unaffable'), ['un', '##aff', '##able']);
});

test('longest match first: runn + ##ing, not run + ##n + …', () => {
  assert.deepEqual(pieces(model, 'running'), ['runn', '##ing']);
  assert.deepEqual(pieces(model, 'runn'), ['runn']);
  assert.deepEqual(pieces(model, 'aaa'), ['a', '##a', '##a']);
});

test('[UNK] only for a word that cannot be covered, and for one word as a whole', () => {
  assert.deepEqual(pieces(model, 'unx'), ['[UNK]']);
  assert.deepEqual(pieces(model, 'xun'), ['[UNK]']);
  const short = new WordPieceModel({ vocab: new Map(VOCAB.map((t, i) => [t, i])), maxInputCharsPerWord: 5 });
  assert.deepEqual(pieces(short, 'aaaaa'), ['a', '##a', '##a', '##a', '##a']);
  assert.deepEqual(pieces(short, 'aaaaaa'), ['[UNK]']);
});

test('CJK and accented characters are pieces like any other', () => {
  assert.deepEqual(pieces(model, '你'), ['你']);
  assert.deepEqual(pieces(model, 'éé'), ['é', '##é']);
});

test('the unk token must be in the vocabulary; toJSON uses Hugging Face names', () => {
  assert.throws(() => new WordPieceModel({ vocab: new Map([['a', 0]]) }), QkvValueError);
  const json = model.toJSON();
  assert.equal(json.type, 'WordPiece');
  assert.equal(json.continuing_subword_prefix, '##');
  assert.equal(json.max_input_chars_per_word, 100);
  assert.equal((json.vocab as Record<string, number>)['##able'], 3);
});
