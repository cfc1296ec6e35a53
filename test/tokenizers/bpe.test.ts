import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { BpeModel } from '../../src/tokenizers/bpe.ts';

function model(tokens: string[], merges: [string, string][], unkToken: string | null = null): BpeModel {
  return new BpeModel({ vocab: new Map(tokens.map((t, i) => [t, i])), merges, unkToken });
}

function tokens(bpe: BpeModel, word: string): string[] {
  const ids: number[] = [];
  bpe.tokenizeWord(word, ids);
  return ids.map((id) => bpe.idToToken(id)!);
}

test('merges apply lowest rank first, not left to right', () => {
  // "abc": (b,c) has rank 0, so b+c merges before a+b could.
  const bpe = model(['a', 'b', 'c', 'bc', 'ab', 'abc'], [['b', 'c'], ['a', 'b'], ['a', 'bc']]);
  assert.deepEqual(tokens(bpe, 'abc'), ['abc']);
  assert.deepEqual(tokens(bpe, 'abab'), ['ab', 'ab']);
  assert.deepEqual(tokens(bpe, 'cab'), ['c', 'ab']);
});

/** GPT-2's encoder.py bpe(): merge every occurrence of the lowest-ranked pair, left to right. */
function referenceBpe(word: string, merges: [string, string][]): string[] {
  const ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  let parts = [...word];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = ranks.get(`${parts[i]} ${parts[i + 1]}`);
      if (rank !== undefined && rank < bestRank) [best, bestRank] = [i, rank];
    }
    if (best < 0) return parts;
    const [a, b] = merges[bestRank];
    const next: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) next.push(a + b), i++;
      else next.push(parts[i]);
    }
    parts = next;
  }
}

test('a repeated pair merges left to right without overlap, as GPT-2 does', () => {
  const merges: [string, string][] = [['a', 'a'], ['aa', 'a'], ['aa', 'aa'], ['b', 'a'], ['ba', 'aa'], ['a', 'b']];
  const bpe = model(['a', 'b', 'aa', 'aaa', 'aaaa', 'ba', 'baaa', 'ab'], merges);
  assert.deepEqual(tokens(bpe, 'aaa'), ['aaa']);
  assert.deepEqual(tokens(bpe, 'aaaa'), ['aaaa']);
  assert.deepEqual(tokens(bpe, 'aaaaa'), ['aa', 'aaa']); // (a,a) twice, then (aa,a) outranks (aa,aa)
  // Random words, short and long (the heap path), against the definition.
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 300; trial++) {
    const length = 1 + Math.floor(random() * (trial < 250 ? 12 : 400));
    let word = '';
    for (let i = 0; i < length; i++) word += random() < 0.7 ? 'a' : 'b';
    assert.deepEqual(tokens(bpe, word), referenceBpe(word, merges), word);
  }
});

test('unknown characters become unk_token, or throw when there is none', () => {
  const withUnk = model(['<unk>', 'a', 'b'], [], '<unk>');
  assert.deepEqual(tokens(withUnk, 'azb'), ['a', '<unk>', 'b']);
  const without = model(['a'], []);
  assert.throws(() => tokens(without, 'ab'), (e: Error) => e instanceof QkvValueError && /"b" \(U\+0062\)/.test(e.message));
});

test('a merge naming an unknown token is rejected when the model is built', () => {
  assert.throws(() => model(['a', 'b'], [['a', 'b']]), /merge 0 result "ab" is not in the vocabulary/);
});

test('toJSON writes Hugging Face field names and merges as "left right"', () => {
  const json = model(['a', 'b', 'ab'], [['a', 'b']]).toJSON();
  assert.equal(json.type, 'BPE');
  assert.deepEqual(json.vocab, { a: 0, b: 1, ab: 2 });
  assert.deepEqual(json.merges, ['a b']);
  assert.deepEqual(model(['a ', 'b', 'a b'], [['a ', 'b']]).toJSON().merges, [['a ', 'b']]);
});
