import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkDocument, wordSpans } from '../../src/rag/chunker.ts';
import { Rng } from '../../src/tensor/random.ts';

function randomProse(seed: number, paragraphs: number): string {
  const rng = new Rng(seed);
  const words = ['the', 'jury', 'said', 'election', 'city', "Atlanta's", 'well-known', 'report', 'county', '1962'];
  const out: string[] = [];
  for (let p = 0; p < paragraphs; p++) {
    const sentences: string[] = [];
    const count = 1 + rng.randint(5);
    for (let s = 0; s < count; s++) {
      const length = 3 + rng.randint(25);
      const sentence = Array.from({ length }, () => words[rng.randint(words.length)]).join(' ');
      sentences.push(`${sentence[0].toUpperCase()}${sentence.slice(1)}${['.', '!', '?', '."'][rng.randint(4)]}`);
    }
    out.push(sentences.join(' '));
  }
  return out.join('\n\n');
}

test('chunker: offsets slice back to the exact text; every token is covered; sizes and overlap hold', () => {
  for (const seed of [1, 2, 3]) {
    const text = randomProse(seed, 30);
    const chunks = chunkDocument({ path: 'doc.txt', text, metadata: { type: 'txt' } }, { chunkTokens: 40, overlapTokens: 10 });
    assert.ok(chunks.length > 5);
    const spans = wordSpans(text);
    for (const chunk of chunks) {
      assert.equal(text.slice(chunk.start, chunk.end), chunk.text, `seed ${seed} chunk ${chunk.id}`);
      assert.ok(wordSpans(chunk.text).length <= 40);
      assert.equal(chunk.source, 'doc.txt');
    }
    assert.equal(chunks[0].start, spans[0][0]);
    assert.equal(chunks.at(-1)!.end, spans.at(-1)![1]);
    for (let i = 1; i < chunks.length; i++) {
      assert.ok(chunks[i].start > chunks[i - 1].start, 'progress');
      assert.ok(chunks[i].start <= chunks[i - 1].end, 'no gap between chunks (overlap ≥ 0)');
    }
  }
});

test('chunker: prefers a paragraph break, then a sentence end, and starts the overlap on a sentence', () => {
  // Tokens: One two three four five . Six seven eight . ¶ Nine ten eleven . Twelve …
  // Window of 10: the paragraph break after token 9 wins over the sentence end after token 5.
  const text = 'One two three four five. Six seven eight.\n\nNine ten eleven. Twelve thirteen fourteen fifteen sixteen.';
  const [first, second] = chunkDocument({ path: 'p.txt', text, metadata: {} }, { chunkTokens: 10, overlapTokens: 3 });
  assert.equal(first.text, 'One two three four five. Six seven eight.');
  // Overlap 3 would start at "seven"; the sentence start "Six" is within 2 × 3 tokens, so it starts there.
  // Its window (tokens 6–15) cuts at the sentence end after "eleven ." (token 13) in its second half.
  assert.equal(second.text, 'Six seven eight.\n\nNine ten eleven.');
  // No boundary in the window's second half: cut where the window ends, and back up to "Delta".
  const [a, b] = chunkDocument({ path: 's.txt', text: 'Alpha beta gamma. Delta epsilon zeta eta theta iota kappa lambda mu nu.', metadata: {} }, { chunkTokens: 8, overlapTokens: 3 });
  assert.equal(a.text, 'Alpha beta gamma. Delta epsilon zeta eta');
  assert.ok(b.text.startsWith('Delta epsilon'), b.text);
});

test('chunker: ids are stable across runs and change with the text; empty documents give no chunks; bad settings are refused', () => {
  const text = randomProse(9, 5);
  const once = chunkDocument({ path: 'a.txt', text, metadata: {} }, { chunkTokens: 20, overlapTokens: 5 });
  const twice = chunkDocument({ path: 'a.txt', text, metadata: {} }, { chunkTokens: 20, overlapTokens: 5 });
  assert.deepEqual(once.map((c) => c.id), twice.map((c) => c.id));
  assert.equal(new Set(once.map((c) => c.id)).size, once.length);
  const edited = chunkDocument({ path: 'a.txt', text: `${text} Extra.`, metadata: {} }, { chunkTokens: 20, overlapTokens: 5 });
  assert.equal(edited[0].id, once[0].id); // an edit at the end keeps the earlier chunks' ids
  assert.notEqual(edited.at(-1)!.id, once.at(-1)!.id);
  assert.deepEqual(chunkDocument({ path: 'e.txt', text: ' \n ', metadata: {} }), []);
  assert.throws(() => chunkDocument({ path: 'a', text, metadata: {} }, { chunkTokens: 10, overlapTokens: 10 }), /overlapTokens must be an integer in \[0, chunkTokens\)/);
});
