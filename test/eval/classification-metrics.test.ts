import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationReport, confusionMatrix } from '../../src/eval/classification-metrics.ts';
import { groupReport } from '../../src/eval/fairness.ts';

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} vs ${expected}`);

// Worked by hand. Rows true, columns predicted:
//        a  b  c
//   a  [ 3  1  0 ]   support 4
//   b  [ 1  0  1 ]   support 2
//   c  [ 0  0  4 ]   support 4
// precision a 3/4, b 0/1, c 4/5; recall a 3/4, b 0/2, c 4/4; F1 a .75, b 0, c 2·.8·1/1.8 = 8/9.
const truth = ['a', 'a', 'a', 'a', 'b', 'b', 'c', 'c', 'c', 'c'];
const predicted = ['a', 'a', 'a', 'b', 'a', 'c', 'c', 'c', 'c', 'c'];

test('metrics equal the hand-worked confusion matrix; macro and micro differ where they should', () => {
  assert.deepEqual(confusionMatrix(truth, predicted, ['a', 'b', 'c']), [[3, 1, 0], [1, 0, 1], [0, 0, 4]]);
  const report = classificationReport(truth, predicted);
  assert.deepEqual(report.labels, ['a', 'b', 'c']);
  close(report.accuracy, 0.7, 'accuracy');
  const expected = [[0.75, 0.75, 0.75, 4], [0, 0, 0, 2], [0.8, 1, 8 / 9, 4]];
  report.perClass.forEach((m, i) => {
    close(m.precision, expected[i][0], `${m.label} precision`);
    close(m.recall, expected[i][1], `${m.label} recall`);
    close(m.f1, expected[i][2], `${m.label} f1`);
    assert.equal(m.support, expected[i][3]);
  });
  close(report.macro.precision, 1.55 / 3, 'macro precision');
  close(report.macro.recall, 1.75 / 3, 'macro recall');
  close(report.macro.f1, (0.75 + 8 / 9) / 3, 'macro f1');
  close(report.weighted.f1, (4 * 0.75 + 4 * (8 / 9)) / 10, 'weighted f1');
  // Micro pools every decision: for single-label data it is the accuracy, here above macro (the rare class b drags macro down).
  close(report.micro.precision, 0.7, 'micro precision');
  close(report.micro.f1, 0.7, 'micro f1');
  assert.ok(report.micro.f1 - report.macro.f1 > 0.15);
  // A class never predicted and never true keeps zeros, no NaN.
  const withUnused = classificationReport(truth, predicted, ['a', 'b', 'c', 'd']);
  assert.deepEqual([withUnused.perClass[3].precision, withUnused.perClass[3].f1], [0, 0]);
});

test('unknown labels and length mismatches are named', () => {
  assert.throws(() => confusionMatrix(['a'], ['z'], ['a', 'b']), /predicted label "z" \(example 0\) is not one of/);
  assert.throws(() => confusionMatrix(['q'], ['a'], ['a', 'b']), /true label "q"/);
  assert.throws(() => classificationReport(['a', 'b'], ['a']), /2 true labels but 1 predictions/);
});

test('fairness: per-group metrics on a constructed dataset and the largest gap between groups', () => {
  // Group "north": 4 of 4 right. Group "south": 1 of 4 right. Accuracy gap 0.75.
  const t = ['x', 'y', 'x', 'y', 'x', 'y', 'x', 'y'];
  const p = ['x', 'y', 'x', 'y', 'y', 'x', 'x', 'x'];
  const g = ['north', 'north', 'north', 'north', 'south', 'south', 'south', 'south'];
  const report = groupReport(t, p, g);
  assert.deepEqual(report.groups.map((entry) => entry.group), ['north', 'south']);
  close(report.groups[0].report.accuracy, 1, 'north accuracy');
  close(report.groups[1].report.accuracy, 0.25, 'south accuracy');
  const accuracyGap = report.gaps.find((gap) => gap.metric === 'accuracy')!;
  close(accuracyGap.gap, 0.75, 'accuracy gap');
  assert.equal(accuracyGap.best.group, 'north');
  assert.equal(accuracyGap.worst.group, 'south');
  // South by hand: x → [1 right, 1 as y], y → [0 right, 2 as x]: P_x 1/3, R_x 1/2, F1_x 0.4; y all 0: macro F1 0.2.
  close(report.groups[1].report.macro.f1, 0.2, 'south macro f1');
  close(report.gaps.find((gap) => gap.metric === 'macro_f1')!.gap, 0.8, 'macro f1 gap');
  close(report.overall.accuracy, 5 / 8, 'overall accuracy');
  assert.throws(() => groupReport(t, p, ['north']), /1 group values for 8 examples/);
});
