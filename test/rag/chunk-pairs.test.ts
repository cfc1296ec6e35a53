import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bm25Terms } from '../../src/rag/bm25.ts';
import { chunkDocument } from '../../src/rag/chunker.ts';
import { chunkShapedPairs } from '../../src/rag/chunk-pairs.ts';

const topics = ['river boats carried cotton downstream', 'senators debated the farm budget', 'painters mixed pigments slowly', 'engineers tested bridge cables', 'choirs rehearsed ancient hymns'];
// 40 sentences, each with five words of its own (the eval's rewrite wants mostly words found nowhere else in the document).
const text = Array.from({ length: 8 }, (_, p) => Array.from({ length: 5 }, (_, s) => `The ${topics[(p + s) % 5]} while ${['ka', 'kb', 'kc', 'kd', 'ke'].map((k) => `${k}${p}x${s}`).join(' ')} watchers counted lanterns.`).join(' ')).join('\n\n') + '\n';

test('chunkShapedPairs: the positive is the index-shaped chunk that holds the gap its sentence left, and lacks the sentence', () => {
  const pairs = chunkShapedPairs([{ name: 'a.txt', text }], { perDocument: 6, chunking: { chunkTokens: 48, overlapTokens: 8 }, seed: 3 });
  assert.equal(pairs.length, 6);
  for (const pair of pairs) {
    const start = text.indexOf(pair.sentence);
    assert.ok(start >= 0, 'the sentence is the document\'s own');
    assert.ok(!pair.positive.includes(pair.sentence), 'the positive does not contain its sentence');
    const sentenceTerms = new Set(bm25Terms(pair.sentence));
    assert.ok(pair.anchor.split(' ').every((word) => sentenceTerms.has(word)), `anchor "${pair.anchor}" is made of the sentence's words`);
    // Independent of the pair maker: remove the sentence by hand, chunk as the index would, find the chunk at the gap.
    const without = text.slice(0, start) + text.slice(start + pair.sentence.length).replace(/^ +/, '');
    const holder = chunkDocument({ path: 'a.txt', text: without, metadata: {} }, { chunkTokens: 48, overlapTokens: 8 }).find((chunk) => chunk.start <= start && start < chunk.end);
    assert.equal(pair.positive, holder?.text);
    assert.equal(pair.source, 'a.txt');
  }
});
