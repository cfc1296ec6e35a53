import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmaxRows, calibrate, contentFreeDistribution } from '../../src/eval/calibration.ts';
import { buildFewShotPrompt, labelWordProbabilities, runCalibrationExperiment } from '../../src/eval/few-shot.ts';
import { GPT } from '../../src/models/gpt.ts';
import { trainCharTokenizer } from '../../src/tokenizers/char.ts';
import { Rng } from '../../src/tensor/random.ts';
import { noGrad } from '../../src/tensor/autograd.ts';
import { Tensor } from '../../src/tensor/tensor.ts';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

test('contextual calibration on a hand-built biased table gives exactly W·p renormalised, W = diag(p_cf)⁻¹', () => {
  // A model that favours label 0: content-free inputs score [0.7, 0.3], [0.8, 0.2] (and an unnormalised [1.5, 0.5] = [0.75, 0.25]).
  const pcf = contentFreeDistribution([[0.7, 0.3], [0.8, 0.2], [1.5, 0.5]]);
  close(pcf[0], 0.75, 'p_cf[0]');
  close(pcf[1], 0.25, 'p_cf[1]');
  const before = [[0.6, 0.4], [0.9, 0.1], [0.7, 0.3]];
  const after = calibrate(before, pcf);
  // Row 1: 0.6/0.75 = 0.8, 0.4/0.25 = 1.6 → [1/3, 2/3]. Row 2: 1.2, 0.4 → [0.75, 0.25]. Row 3: 0.9333, 1.2 → [0.4375, 0.5625].
  const expected = [[1 / 3, 2 / 3], [0.75, 0.25], [0.9333333333333333 / 2.1333333333333333, 1.2 / 2.1333333333333333]];
  after.forEach((row, i) => row.forEach((p, j) => close(p, expected[i][j], `row ${i} label ${j}`)));
  assert.deepEqual(argmaxRows(before), [0, 0, 0]); // everything label 0 before
  assert.deepEqual(argmaxRows(after), [1, 0, 1]); // the bias removed
  // A content-free input itself becomes uniform.
  calibrate([pcf], pcf)[0].forEach((p) => close(p, 0.5, 'uniform'));
  assert.throws(() => calibrate([[0.5, 0.5]], [1, 0]), /p_cf must be > 0/);
  assert.throws(() => contentFreeDistribution([[0.5, 0.5], [1]]), /needs 2 label probabilities/);
});

test('few-shot prompt and label-word probabilities equal the chain rule over a GPT forward', () => {
  const demos = [{ text: 'a b c d', label: 'x' }, { text: 'e f', label: 'y' }];
  const words = new Map([['x', 'ab'], ['y', 'cd']]);
  const prompt = buildFewShotPrompt(demos, 'g h i', words, { inputPrefix: 'T: ', labelPrefix: ' L:', separator: '|', maxInputWords: 2 });
  assert.equal(prompt, 'T: a b L: ab|T: e f L: cd|T: g h L:');
  const tokenizer = trainCharTokenizer('abcdefghi TL:|');
  const model = new GPT({ vocab_size: tokenizer.vocabSize, n_layer: 1, n_embd: 8, n_head: 2, n_positions: 64 }, { rng: new Rng(1) }).eval();
  const [px, py] = labelWordProbabilities(model, tokenizer, prompt, ['ab', 'cd']);
  // By hand for 'ab': P(' ' | prompt) · P('a' | prompt ' ') · P('b' | prompt ' a').
  const chain = (continuation: string): number => {
    const ids = tokenizer.encodeIds(prompt + continuation);
    const start = tokenizer.encodeIds(prompt).length;
    const logProbs = noGrad(() => model.forward(Tensor.from([ids])).logits.logSoftmax(-1));
    let total = 0;
    for (let t = start; t < ids.length; t++) total += logProbs.get(0, t - 1, ids[t]);
    return Math.exp(total);
  };
  assert.ok(Math.abs(px - chain(' ab')) / chain(' ab') < 1e-4);
  assert.ok(Math.abs(py - chain(' cd')) / chain(' cd') < 1e-4);
  const runs = runCalibrationExperiment({ model, tokenizer, labels: ['x', 'y'], labelWords: words, pool: demos, test: [{ text: 'a', label: 'x' }, { text: 'e', label: 'y' }], shots: 2, seeds: [1, 2], orders: 2 });
  assert.equal(runs.length, 4);
  // The two orders of each seed differ (two demonstrations: the two permutations).
  assert.notDeepEqual(runs[0].demonstrationLabels, runs[1].demonstrationLabels);
  assert.notDeepEqual(runs[2].demonstrationLabels, runs[3].demonstrationLabels);
  for (const run of runs) {
    close(run.predictedBefore.reduce((a, b) => a + b, 0), 1, 'shares sum to 1');
    close(run.contentFree[0] + run.contentFree[1], 1, 'p_cf sums to 1');
    assert.ok(run.macroF1Before >= 0 && run.macroF1Before <= 1 && run.macroF1After >= 0 && run.macroF1After <= 1);
  }
  assert.throws(() => runCalibrationExperiment({ model, tokenizer, labels: ['x', 'y'], labelWords: words, pool: demos, test: [{ text: 'a', label: 'z' }], shots: 1, seeds: [1] }), /test label "z" is not one of x, y/);
});
