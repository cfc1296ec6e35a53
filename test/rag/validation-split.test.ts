import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { makeBrownEval } from '../../src/rag/brown-eval.ts';
import { makeValidationSplit } from '../../src/rag/validation-split.ts';

const brownText = readFileSync(new URL('../../data/brown.txt', import.meta.url), 'utf8');
const normalise = (text: string): string => text.replace(/\s+/g, ' ');

test('validation split: made from training-side sentences only, with its own held-out sentences removed', () => {
  const shipped = makeBrownEval({ brownText }); // the eval whose queries must stay unseen
  const split = makeValidationSplit({ brownText, documents: 40 });
  assert.deepEqual(split.evalHeldOutSentences, shipped.heldOutSentences);
  assert.equal(split.queries.length, 40);
  assert.equal(split.heldOutSentences.length, split.queries.length);
  const splitText = split.documents.map((document) => normalise(document.text));
  const shippedText = shipped.documents.map((document) => normalise(document.text));
  const evalQueries = new Set(shipped.queries.map((query) => query.query));
  for (const sentence of shipped.heldOutSentences) {
    assert.ok(!splitText.some((text) => text.includes(normalise(sentence))), `an eval sentence reached the validation documents: ${sentence}`);
    assert.ok(!split.heldOutSentences.includes(sentence), `an eval sentence became a validation query: ${sentence}`);
  }
  for (const [i, sentence] of split.heldOutSentences.entries()) {
    assert.ok(!splitText.some((text) => text.includes(normalise(sentence))), `a validation sentence is still in its documents: ${sentence}`);
    // ... but it is a sentence the shipped eval indexes: training side, not test side.
    assert.ok(shippedText.some((text) => text.includes(normalise(sentence))), `not a training-side sentence: ${sentence}`);
    assert.ok(!evalQueries.has(split.queries[i].query));
  }
});
