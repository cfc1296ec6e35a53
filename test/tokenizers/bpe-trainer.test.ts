import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QkvValueError } from '../../src/tensor/errors.ts';
import { PairHeap, trainBpe } from '../../src/tokenizers/bpe-trainer.ts';
import { bytesPerToken } from '../../src/tokenizers/stats.ts';
import { heldOutText, trainingText, variedText } from './fixtures.ts';

const train = trainingText(300_000);
const started = performance.now();
let progressCalls = 0;
const bpe = trainBpe([train], { vocabSize: 4000, onProgress: () => progressCalls++ });
const trainMs = performance.now() - started;

test('training 300 KB to 4000 tokens takes seconds, and reaches the size asked for', () => {
  assert.ok(trainMs < 15_000, `training took ${trainMs.toFixed(0)} ms`);
  assert.equal(bpe.vocabSize, 4000);
  assert.ok(progressCalls > 3000);
});

test('the vocabulary starts with the special tokens, then the 256 bytes', () => {
  assert.equal(bpe.tokenToId('<|endoftext|>'), 0);
  assert.equal(bpe.tokenToId('<|im_start|>'), 1);
  assert.equal(bpe.tokenToId('<|im_end|>'), 2);
  for (let b = 0; b < 256; b++) assert.ok(bpe.tokenToId(String.fromCharCode(b < 33 ? 256 + b : b)) !== undefined || b >= 127);
  // The first merge of English prose joins the most frequent pair: "Ġ" + "t" (as in GPT-2).
  assert.deepEqual((bpe.model.toJSON().merges as string[])[0], 'Ġ t');
});

test('the trained BPE round-trips and compresses held-out text', (t) => {
  const held = heldOutText(100_000);
  assert.equal(bpe.decode(bpe.encodeIds(held)), held);
  const varied = variedText();
  assert.equal(bpe.decode(bpe.encodeIds(varied)), varied); // bytes never go out of vocabulary
  const heldBytesPerToken = bytesPerToken(bpe, held);
  const trainBytesPerToken = bytesPerToken(bpe, train);
  t.diagnostic(`bytes/token: ${trainBytesPerToken.toFixed(3)} on training text, ${heldBytesPerToken.toFixed(3)} held out (vocab 4000, 300 KB)`);
  assert.ok(heldBytesPerToken > 3.0, `held-out bytes/token ${heldBytesPerToken}`);
});

test('special tokens are never split and never take part in merges', () => {
  const ids = bpe.encodeIds('a<|endoftext|>b<|im_start|>user\nhi<|im_end|>');
  assert.deepEqual(ids.filter((id) => id < 3), [0, 1, 2]);
  const corpus = '<|endoftext|>'.repeat(200) + ' the cat';
  const small = trainBpe([corpus], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
  const merges = small.model.toJSON().merges as string[];
  assert.ok(!merges.some((m) => m.includes('|')), `merges from inside a special token: ${merges.join(', ')}`);
});

test('training is deterministic, stops at min frequency, and rejects a too-small vocabulary', () => {
  const again = trainBpe([train.slice(0, 50_000)], { vocabSize: 600 });
  const twice = trainBpe([train.slice(0, 50_000)], { vocabSize: 600 });
  assert.deepEqual(again.model.toJSON(), twice.model.toJSON());
  const tiny = trainBpe(['ab ab ab cd'], { vocabSize: 1000, minFrequency: 2, specialTokens: [] });
  assert.deepEqual(tiny.model.toJSON().merges, ['a b', 'Ġ ab']);
  assert.throws(() => trainBpe([train], { vocabSize: 100 }), QkvValueError);
});

test('PairHeap pops the highest count, ties to the smallest key', () => {
  const heap = new PairHeap();
  for (const [count, key] of [[3, 9], [5, 7], [5, 2], [1, 1], [5, 4]]) heap.push(count, key);
  const order: number[] = [];
  while (heap.size > 0) order.push(heap.pop().key);
  assert.deepEqual(order, [2, 4, 7, 9, 1]);
});
