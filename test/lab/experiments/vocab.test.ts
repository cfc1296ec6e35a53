import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitWords, unknownRateOverWords, vocabExperiment } from '../../../src/lab/experiments/vocab.ts';
import { resolveParams } from '../../../src/lab/experiment.ts';
import { trainWordPiece } from '../../../src/tokenizers/wordpiece-trainer.ts';

test('vocab --quick: a word vocabulary misses held-out words, subwords miss none at a few tokens per word, characters are longest', async () => {
  const result = await vocabExperiment.run(resolveParams(vocabExperiment, { quick: true }), { seed: 0, onProgress: () => {} });
  const row = (prefix: string) => result.rows.find((r) => String(r[0]).startsWith(prefix))!;
  assert.ok((row('word (top')[2] as number) > 0.1, 'word vocabulary has OOV words');
  assert.ok((row('word (every')[2] as number) > 0.05, 'even all training words miss held-out ones');
  assert.equal(row('byte-level BPE')[2], 0, 'byte fallback: never OOV');
  assert.ok((row('WordPiece')[2] as number) < 0.01);
  const bpeTokens = row('byte-level BPE')[3] as number;
  assert.ok(bpeTokens > 1 && bpeTokens < (row('characters')[3] as number));
});

test('splitWords and unknownRateOverWords on a hand-made example', () => {
  assert.deepEqual(splitWords("Hello, World's end"), ['hello', ',', 'world', "'", 's', 'end']);
  const tokenizer = trainWordPiece(['abc abc ab'], { vocabSize: 40 });
  // 'xyz' has characters the alphabet lacks → [UNK]; 'abc' and 'ab' encode: 1 of 3.
  assert.ok(Math.abs(unknownRateOverWords(tokenizer, ['abc', 'xyz', 'ab']) - 1 / 3) < 1e-12);
});
