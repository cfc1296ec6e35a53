import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/tensor/random.ts';
import { encodeLabels, encodeSources, Seq2SeqDataset, seq2seqCharTokenizer, specialTokenIds } from '../../src/train/seq2seq-data.ts';
import { evaluateSeq2Seq, translate } from '../../src/train/seq2seq-eval.ts';
import { datesTask, generatePairs, heldOutPairs, numberToWords, numberToWordsTask, numberWordsTask, readPairsTsv, reverseTask, sortTask } from '../../src/train/seq2seq-tasks.ts';
import { trainSeq2Seq } from '../../src/train/seq2seq-train.ts';

test('date task: seeded, many surface forms, every target is the ISO date of its source', () => {
  const pairs = generatePairs(datesTask, 300, 7);
  assert.deepEqual(pairs, generatePairs(datesTask, 300, 7));
  for (const { source, target } of pairs) {
    assert.match(target, /^(19[5-9]\d|20[0-4]\d)-\d\d-\d\d$/);
    const [y, m, d] = target.split('-').map(Number);
    const date = new Date(Date.UTC(y, m - 1, d));
    assert.equal(date.getUTCDate(), d, `${target} is a real date`);
    assert.ok(source.includes(String(y)), `${source} holds the year`);
  }
  const shapes = new Set(pairs.map(({ source }) => source.replace(/[0-9]/g, '9').replace(/[a-z]+/gi, 'w')));
  assert.ok(shapes.size >= 10, `only ${shapes.size} surface forms`);
});

test('number words by hand; reverse and sort; lengths grow as asked; held-out sources are unseen', () => {
  assert.equal(numberToWords(0), 'zero');
  assert.equal(numberToWords(342), 'three hundred and forty-two');
  assert.equal(numberToWords(1042), 'one thousand and forty-two');
  assert.equal(numberToWords(2_000_115), 'two million one hundred and fifteen');
  for (const { source, target } of generatePairs(numberWordsTask, 50, 3)) assert.equal(numberToWords(Number(target)), source);
  for (const { source, target } of generatePairs(numberToWordsTask, 20, 3)) assert.equal(numberToWords(Number(source)), target);
  const [reversed] = generatePairs(reverseTask, 1, 1, { minLength: 5, maxLength: 5 });
  assert.equal(reversed.source.split(' ').reverse().join(' '), reversed.target);
  assert.equal(reversed.source.split(' ').length, 5);
  const [sorted] = generatePairs(sortTask, 1, 2, { minLength: 8, maxLength: 8 });
  assert.equal(sorted.source.split(' ').sort().join(' '), sorted.target);
  const train = generatePairs(datesTask, 200, 1);
  const held = heldOutPairs(datesTask, 100, 2, train);
  const seen = new Set(train.map((p) => p.source));
  assert.equal(held.length, 100);
  assert.ok(held.every((p) => !seen.has(p.source)));
  assert.throws(() => generatePairs(reverseTask, 1, 1, { minLength: 4, maxLength: 2 }), /minLength ≤ maxLength/);
});

test('TSV pairs: one source<TAB>target per line; a bad line is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-pairs-'));
  try {
    const good = join(dir, 'good.tsv');
    writeFileSync(good, 'hello\tbonjour\n\ncat\tchat\n');
    assert.deepEqual(readPairsTsv(good), [{ source: 'hello', target: 'bonjour' }, { source: 'cat', target: 'chat' }]);
    const bad = join(dir, 'bad.tsv');
    writeFileSync(bad, 'a\tb\nno tab here\n');
    assert.throws(() => readPairsTsv(bad), /bad\.tsv: line 2: expected "source<TAB>target", found 1 tab-separated fields/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batches: sources end in </s> and pad with <pad>; labels end in </s> and pad with −100', () => {
  const pairs = [{ source: 'ab', target: 'x' }, { source: 'a', target: 'xyz' }];
  const tokenizer = seq2seqCharTokenizer(pairs);
  const { pad_token_id, eos_token_id } = specialTokenIds(tokenizer);
  assert.deepEqual([pad_token_id, eos_token_id], [0, 2]);
  const [a, b, x, y, z] = ['a', 'b', 'x', 'y', 'z'].map((ch) => tokenizer.tokenToId(ch)!);
  assert.deepEqual(encodeSources(tokenizer, ['ab', 'a']).tolist(), [[a, b, 2], [a, 2, 0]]);
  assert.deepEqual(encodeLabels(tokenizer, ['x', 'xyz']).tolist(), [[x, 2, -100, -100], [x, y, z, 2]]);
  const batch = new Seq2SeqDataset(tokenizer, pairs, pairs).sampleBatch('train', 3, 1, new Rng(0));
  assert.equal(batch.ids.shape[0], 3);
  assert.equal(batch.targets.shape[0], 3);
});

test('a tiny Transformer trained by the ordinary trainer with teacher forcing learns to reverse 3 digits', async () => {
  const trainPairs = generatePairs(reverseTask, 2000, 1, { minLength: 3, maxLength: 3 });
  const held = heldOutPairs(reverseTask, 40, 2, trainPairs, { minLength: 3, maxLength: 3 });
  const { model, tokenizer, summary } = await trainSeq2Seq({
    arch: 'transformer',
    preset: 'tiny',
    config: { label_smoothing: 0 },
    trainPairs,
    validationPairs: held,
    outDir: null,
    train: { steps: 300, batchSize: 16, warmupSteps: 10, evalInterval: 300, evalBatches: 1 },
  });
  assert.ok(summary.history[0].loss > 2 && summary.finalValLoss < 0.5, `loss ${summary.history[0].loss} → ${summary.finalValLoss}`);
  const scores = evaluateSeq2Seq(model, tokenizer, held);
  assert.ok(scores.exactMatch >= 0.9, `held-out exact match ${scores.exactMatch}`);
  assert.equal(translate(model, tokenizer, ['1 2 3'], { numBeams: 2 })[0], '3 2 1');
});
