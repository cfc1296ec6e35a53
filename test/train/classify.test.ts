import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evenlySpaced, holdOut, labelIds, parseCsv, readLabelledFile } from '../../src/train/classify-data.ts';
import { BagOfWordsClassifier, buildVocabulary } from '../../src/train/classify-bow.ts';

test('CSV (RFC 4180): quoted commas, doubled quotes, newlines inside quotes, CRLF', () => {
  assert.deepEqual(parseCsv('text,label\r\n"a, b",x\n"say ""hi""",y\n"two\nlines",z\n'), [['text', 'label'], ['a, b', 'x'], ['say "hi"', 'y'], ['two\nlines', 'z']]);
  assert.throws(() => parseCsv('a,b\n"open,1\n', 'f.csv'), /f\.csv: unterminated quoted field/);
});

test('labelled files: columns by name, errors name file, line and column', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'qkv-classify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'd.csv'), 'body,topic,who\n"x, y",a,u\nz,b,v\n');
  assert.deepEqual(readLabelledFile(join(dir, 'd.csv'), { textColumn: 'body', labelColumn: 'topic', groupColumn: 'who' }), [
    { text: 'x, y', label: 'a', group: 'u' },
    { text: 'z', label: 'b', group: 'v' },
  ]);
  assert.throws(() => readLabelledFile(join(dir, 'd.csv')), /d\.csv:2: missing column "text" \(columns: body, topic, who\)/);
  writeFileSync(join(dir, 'd.jsonl'), '{"text": "ok", "label": 1}\n\nnot json\n');
  assert.throws(() => readLabelledFile(join(dir, 'd.jsonl')), /d\.jsonl:3: not valid JSON/);
  assert.throws(() => labelIds([{ text: 't', label: 'q' }], ['a', 'b']), /label "q", which the model does not know \(labels: a, b\)/);
  const { train, validation } = holdOut([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 0.2);
  assert.deepEqual(validation, [4, 9]);
  assert.deepEqual(train, [0, 1, 2, 3, 5, 6, 7, 8]);
});

test('bag-of-words features are log(1 + count), L2-normalised, over the most frequent words', () => {
  assert.deepEqual(buildVocabulary(['b a a', 'c b a', 'd'], { minCount: 2 }), ['a', 'b']);
  const model = new BagOfWordsClassifier(['cat', 'dog'], ['x', 'y']);
  // "cat cat dog bird": counts 2, 1 → log 3, log 2, normalised; "bird" has no feature.
  const features = model.features(['Cat cat dog bird', 'bird']).toArray();
  const norm = Math.hypot(Math.log(3), Math.log(2));
  assert.ok(Math.abs(features[0] - Math.log(3) / norm) < 1e-6 && Math.abs(features[1] - Math.log(2) / norm) < 1e-6);
  assert.deepEqual(features.slice(2), [0, 0]);
});

test('evenlySpaced spreads a sample over the whole file (qkv calibrate --limit kept only the front of a 525-line file)', () => {
  const lines = Array.from({ length: 525 }, (_, i) => i);
  const sample = evenlySpaced(lines, 200);
  assert.equal(sample.length, 200);
  assert.equal(sample[0], 0);
  assert.ok(sample[199] >= 520, `last sampled line ${sample[199]}`);
  // Labels sorted in the file (400 of one, 125 of the other) keep their share.
  const labels = lines.map((i) => (i < 400 ? 'informative' : 'imaginative'));
  const share = evenlySpaced(labels, 200).filter((label) => label === 'imaginative').length / 200;
  assert.ok(Math.abs(share - 125 / 525) < 0.01, `imaginative share ${share}`);
  assert.deepEqual(evenlySpaced([1, 2, 3], 10), [1, 2, 3]);
  assert.throws(() => evenlySpaced(lines, 0), /count must be a positive integer/);
});
