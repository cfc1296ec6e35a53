import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { trainBpe } from '../../src/tokenizers/bpe-trainer.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { frequencyRanks, frequencySortTokenizer, renumberTokenizer } from '../../src/tokenizers/frequency-sort.ts';
import { loadGpt2Tokenizer } from '../../src/tokenizers/gpt2.ts';
import { loadTokenizer, saveTokenizer } from '../../src/tokenizers/tokenizer-json.ts';
import type { Tokenizer } from '../../src/tokenizers/tokenizer.ts';
import { tinyBert } from './bert-fixture.ts';

const brown = readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8');

/** Token strings of a text, counted independently of any id: the ground truth for the ranks. */
function tokenCounts(tokenizer: Tokenizer, text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of tokenizer.encodeIds(text)) {
    const token = tokenizer.idToToken(id)!;
    counts.set(token, (counts.get(token) ?? 0) + 1);
  }
  return counts;
}

function checkSorted(original: Tokenizer, text: string): Tokenizer {
  const { tokenizer: sorted, newIdOf, counts } = frequencySortTokenizer(original, text);
  assert.equal(sorted.vocabSize, original.vocabSize);
  const oldIds = original.encodeIds(text);
  const newIds = sorted.encodeIds(text);
  // The same tokens, renumbered: decode gives the text back, token strings are unchanged.
  assert.deepEqual(newIds, oldIds.map((id) => newIdOf[id]));
  assert.equal(sorted.decode(newIds), original.decode(oldIds));
  assert.deepEqual(newIds.map((id) => sorted.idToToken(id)), oldIds.map((id) => original.idToToken(id)));
  // Most frequent first: the count of each sorted id, from token strings, never increases.
  const byToken = tokenCounts(original, text);
  const countOfNewId = (id: number) => byToken.get(sorted.idToToken(id)!) ?? 0;
  const mostFrequent = [...byToken.entries()].sort((a, b) => b[1] - a[1])[0];
  assert.equal(countOfNewId(0), mostFrequent[1]);
  for (let id = 1; id < Math.min(sorted.vocabSize, 500); id++) assert.ok(countOfNewId(id) <= countOfNewId(id - 1), `id ${id} more frequent than id ${id - 1}`);
  for (let id = 0; id < 50; id++) assert.equal(counts[id], countOfNewId(id));
  return sorted;
}

test('frequencyRanks: most frequent id gets rank 0, ties keep the old order, counts descend', () => {
  const { newIdOf, counts } = frequencyRanks([3, 1, 3, 2, 3, 1], 5);
  assert.deepEqual([...newIdOf], [3, 1, 2, 0, 4]); // id 3 (×3), id 1 (×2), then 2, then the unseen 0 and 4 in order
  assert.deepEqual([...counts], [3, 2, 1, 0, 0]);
  assert.throws(() => frequencyRanks([0, 5], 5), /id 5 at position 1 is outside \[0, 5\)/);
});

test('frequency-sorted GPT-2 BPE over Brown: same tokens and text, frequent tokens at low ids, tokenizer.json round trip', () => {
  const text = brown.slice(0, 200_000);
  const gpt2 = loadGpt2Tokenizer();
  const sorted = checkSorted(gpt2, text);
  assert.equal(sorted.vocabSize, 50257);
  // <|endoftext|> still one special token, now at its rank.
  const eos = sorted.tokenToId('<|endoftext|>')!;
  assert.deepEqual(sorted.encodeIds('a<|endoftext|>b').slice(1, 2), [eos]);
  // The saved file carries the sorted ids: a reader of tokenizer.json gets the same numbers.
  const dir = mkdtempSync(join(tmpdir(), 'qkv-freq-'));
  try {
    const reloaded = loadTokenizer(saveTokenizer(sorted, join(dir, 'tokenizer.json')));
    const sample = brown.slice(300_000, 310_000);
    assert.deepEqual(reloaded.encodeIds(sample), sorted.encodeIds(sample));
    assert.equal(reloaded.decode(reloaded.encodeIds(sample)), sample);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('frequency-sorted trained BPE and char tokenizers: round trip, special tokens renumbered', () => {
  const text = brown.slice(0, 60_000);
  checkSorted(trainBpe([text], { vocabSize: 400, specialTokens: ['<|endoftext|>'] }), text);
  const chars = checkSorted(trainCharTokenizer(text, { specialTokens: ['<|endoftext|>'] }), text);
  assert.equal(chars.idToToken(0), ' '); // the space is English's most frequent character
});

test('renumbering a BERT WordPiece tokenizer moves the template special tokens with it', () => {
  const bert = tinyBert();
  const V = bert.vocabSize;
  const reversed = Int32Array.from({ length: V }, (_, id) => V - 1 - id);
  const renumbered = renumberTokenizer(bert, reversed);
  const before = bert.encode('the cat sat.');
  const after = renumbered.encode('the cat sat.');
  assert.deepEqual(after.ids, before.ids.map((id) => V - 1 - id)); // [CLS] and [SEP] included
  assert.deepEqual(after.tokens, before.tokens);
});

test('renumberTokenizer rejects what is not a permutation of the vocabulary', () => {
  const bert = tinyBert();
  assert.throws(() => renumberTokenizer(bert, new Int32Array(3)), (error: Error) => error instanceof QkvValueError && /3 entries for a vocabulary of 26/.test(error.message));
  const twice = Int32Array.from({ length: bert.vocabSize }, (_, id) => (id === 1 ? 0 : id));
  assert.throws(() => renumberTokenizer(bert, twice), /not a permutation of \[0, 26\): entry 1 is 0/);
});
