import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeBleu, formatBleu, sacreBleuCorpus, sentenceBleu, tokenize13a } from '../../src/eval/bleu.ts';

const close = (actual: number, expected: number, label: string, tolerance = 1e-9) =>
  assert.ok(Math.abs(actual - expected) < tolerance, `${label}: ${actual} vs ${expected}`);

test("sacreBLEU README example: the exact printed line and JSON fields", () => {
  const refs = [
    ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
    ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
  ];
  const sys = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];
  const score = sacreBleuCorpus(sys, refs);
  assert.equal(formatBleu(score), 'BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)');
  assert.deepEqual([score.sys_len, score.ref_len], [17, 18]);
  // By hand: 14/17, 7/14, 5/11, 3/8 matches; closest refs 6+6+6 (ties prefer the shorter) = 18.
  assert.deepEqual(score.counts, [14, 7, 5, 3]);
  assert.deepEqual(score.totals, [17, 14, 11, 8]);
  const expected = Math.exp(1 - 18 / 17) * Math.exp((Math.log(14 / 17) + Math.log(7 / 14) + Math.log(5 / 11) + Math.log(3 / 8)) / 4) * 100;
  close(score.score, expected, 'score');
});

test('13a tokenisation as mteval-v13a: punctuation split, numbers kept, dash after a digit, entities', () => {
  assert.equal(tokenize13a('Hello, world.'), 'Hello , world .');
  assert.equal(tokenize13a('It costs $3.50, or 1,000 yen.'), 'It costs $ 3.50 , or 1,000 yen .');
  assert.equal(tokenize13a('2021-03-03 and well-known'), '2021 - 03 - 03 and well-known');
  assert.equal(tokenize13a('a &amp; b &lt;c&gt; &quot;d&quot;'), 'a & b < c > " d "');
  assert.equal(tokenize13a("don't (maybe)"), "don't ( maybe )");
});

test("the BLEU paper's candidate 1 against its three references (Papineni et al. 2002, example 1)", () => {
  const candidate = 'It is a guide to action which ensures that the military always obeys the commands of the party';
  const references = [
    'It is a guide to action that ensures that the military will forever heed Party commands',
    'It is the guiding principle which guarantees the military forces always being under the command of the Party',
    'It is the practical guide for the army always to heed the directions of the party',
  ];
  const score = sacreBleuCorpus([candidate], references.map((r) => [r]));
  // Worked by hand: 17/18 unigrams match (case-sensitive: "party" is only in reference 3); 18 tokens, closest reference 18.
  assert.equal(score.counts[0], 17);
  assert.equal(score.totals[0], 18);
  assert.equal(score.sys_len, 18);
  assert.equal(score.ref_len, 18);
  assert.equal(score.bp, 1);
});

test("the paper's modified precision: 'the the the the the the the' scores 2/7 unigram precision", () => {
  const score = sacreBleuCorpus(['the the the the the the the'], [['the cat is on the mat'], ['there is a cat on the mat']]);
  assert.equal(score.counts[0], 2); // clipped at the largest count in one reference ("the" twice in the first)
  assert.equal(score.totals[0], 7);
  close(score.precisions[0], (100 * 2) / 7, 'p1');
});

test('brevity penalty: exp(1 − r/c) for a short hypothesis, 1 when as long or longer', () => {
  const short = sacreBleuCorpus(['a b c d'], [['a b c d e f g h']]);
  close(short.bp, Math.exp(1 - 8 / 4), 'bp');
  close(short.score, Math.exp(1 - 2) * 100, 'score'); // every n-gram of the hypothesis matches
  const long = sacreBleuCorpus(['a b c d e f g h i j'], [['a b c d e f g h']]);
  assert.equal(long.bp, 1);
});

test('zero matches give 0; an empty hypothesis gives 0 with BP 0; with no 4-gram match "none" gives 0 and "exp" does not', () => {
  assert.equal(sacreBleuCorpus(['x y z'], [['a b c']]).score, 0);
  const empty = sacreBleuCorpus([''], [['a b c']]);
  assert.equal(empty.score, 0);
  assert.equal(empty.bp, 0);
  assert.equal(empty.sys_len, 0);
  const hypothesis = ['a b c x d'];
  const reference = [['a b c y d']];
  assert.equal(sacreBleuCorpus(hypothesis, reference, { smoothMethod: 'none' }).score, 0);
  // exp: counts 4/5, 2/4, 1/3, 0/2 → the 4-gram precision becomes 1/(2·2).
  const smoothed = sacreBleuCorpus(hypothesis, reference);
  close(smoothed.score, 100 * Math.exp((Math.log(4 / 5) + Math.log(2 / 4) + Math.log(1 / 3) + Math.log(1 / 4)) / 4), 'exp');
  const floor = sacreBleuCorpus(hypothesis, reference, { smoothMethod: 'floor' });
  close(floor.score, 100 * Math.exp((Math.log(4 / 5) + Math.log(2 / 4) + Math.log(1 / 3) + Math.log(0.1 / 2)) / 4), 'floor');
  const addK = sacreBleuCorpus(hypothesis, reference, { smoothMethod: 'add-k' });
  close(addK.score, 100 * Math.exp((Math.log(4 / 5) + Math.log(3 / 5) + Math.log(2 / 4) + Math.log(1 / 3)) / 4), 'add-k');
});

test('sentence BLEU uses the effective order; a perfect match is 100', () => {
  close(sentenceBleu('the cat sat on the mat', ['the cat sat on the mat']).score, 100, 'perfect', 1e-9);
  const two = sentenceBleu('the cat', ['the cat sat on the mat']);
  close(two.score, Math.exp(1 - 6 / 2) * 100, 'short sentence'); // only orders 1 and 2 exist, both 100%
});

test('closest reference length prefers the shorter one on a tie; line counts must agree', () => {
  const score = sacreBleuCorpus(['a b c d e'], [['a b c d'], ['a b c d e f']]);
  assert.equal(score.ref_len, 4);
  assert.throws(() => sacreBleuCorpus(['a', 'b'], [['a']]), /reference stream 1 has 1 segments but there are 2 hypotheses/);
  assert.throws(() => computeBleu([1], [1], 1, 1, { smoothMethod: 'bogus' as 'exp', maxNgramOrder: 1 }), /smoothMethod/);
});
