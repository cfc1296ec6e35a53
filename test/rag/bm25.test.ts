import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bm25Index } from '../../src/rag/bm25.ts';

// Worked by hand (k1 1.2, b 0.75): N = 3, lengths 3, 4, 3, avgdl 10/3.
// idf(cat) = ln(1 + (3 − 2 + 0.5)/(2 + 0.5)) = ln 1.6; idf(dog) = ln(1 + 2.5/1.5) = ln(8/3).
// d1 "the cat sat":  cat f=1, K = 1.2·(0.25 + 0.75·3/(10/3)) = 1.11 → ln1.6 · 2.2/2.11 = 0.490051
// d3 "cat cat cat":  cat f=3 → ln1.6 · 6.6/4.11 = 0.754750
// d2 "the dog sat down", query "dog sat": K = 1.38 → (ln(8/3) + ln1.6) · 2.2/2.38 = 1.341106
function corpus(): Bm25Index {
  const index = new Bm25Index({ k1: 1.2, b: 0.75 });
  index.add('d1', 'The cat sat.');
  index.add('d2', 'the dog sat down');
  index.add('d3', 'Cat, cat, CAT!');
  return index;
}

test('bm25: scores equal the hand-computed example', () => {
  const index = corpus();
  const cat = index.search('cat', 10);
  assert.deepEqual(cat.map((hit) => hit.id), ['d3', 'd1']);
  assert.ok(Math.abs(cat[0].score - 0.754750) < 1e-5, String(cat[0].score));
  assert.ok(Math.abs(cat[1].score - 0.490051) < 1e-5, String(cat[1].score));
  const dogSat = index.search('dog sat', 10);
  assert.deepEqual(dogSat.map((hit) => hit.id), ['d2', 'd1']);
  assert.ok(Math.abs(dogSat[0].score - 1.341106) < 1e-5, String(dogSat[0].score));
  assert.ok(Math.abs(dogSat[1].score - 0.490051) < 1e-5);
  assert.ok(Math.abs(index.idf('cat') - Math.log(1.6)) < 1e-12);
});

test('bm25: delete and replace change the statistics as if the document had never been there', () => {
  const index = corpus();
  index.delete('d3');
  const fresh = new Bm25Index();
  fresh.add('d1', 'The cat sat.');
  fresh.add('d2', 'the dog sat down');
  assert.deepEqual(index.search('cat sat', 5), fresh.search('cat sat', 5));
  index.add('d1', 'a bird');
  assert.deepEqual(index.search('cat', 5), []);
  assert.equal(index.size, 2);
});

test('bm25: b = 0 ignores length; k1 = 0 ignores repetition', () => {
  const flat = new Bm25Index({ k1: 0, b: 0.75 });
  flat.add('short', 'cat');
  flat.add('long', 'cat cat cat dog dog dog');
  const [a, b] = flat.search('cat', 2);
  assert.ok(Math.abs(a.score - b.score) < 1e-12);
  assert.throws(() => new Bm25Index({ b: 1.5 }), /b must be in \[0, 1\]/);
});
