import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyRepetitionPenalty,
  applyTemperature,
  applyTopK,
  applyTopP,
  logSoftmax,
  processLogits,
  softmax,
  suppressEosUntilMinTokens,
} from '../../src/generate/logits-processors.ts';
import { resolveGenerationConfig } from '../../src/generate/config.ts';
import { Rng } from '../../src/tensor/random.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

const NEG_INF = -Infinity;

function randomLogits(rng: Rng, size: number, scale = 3): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal(0, scale));
}

/**
 * HF's `TopPLogitsWarper`, written the way transformers does it: sort ascending, cumulative
 * softmax, remove where cumsum <= 1 - top_p, always keep the last (most likely) token.
 */
function hfTopPReference(logits: Float32Array, topP: number): Float32Array {
  const order = Array.from(logits.keys()).sort((a, b) => logits[a] - logits[b] || b - a);
  const sortedLogits = order.map((i) => logits[i]);
  const maxLogit = Math.max(...sortedLogits);
  const exps = sortedLogits.map((x) => Math.exp(x - maxLogit));
  const total = exps.reduce((a, b) => a + b, 0);
  const out = logits.slice();
  let cumulative = 0;
  for (let rank = 0; rank < order.length; rank++) {
    cumulative += exps[rank] / total;
    const isLast = rank === order.length - 1;
    if (cumulative <= 1 - topP && !isLast) out[order[rank]] = NEG_INF;
  }
  return out;
}

/** HF's `TopKLogitsWarper`: remove scores < the k-th largest (torch.topk(...)[0][..., -1]). */
function hfTopKReference(logits: Float32Array, k: number): Float32Array {
  const kth = [...logits].sort((a, b) => b - a)[Math.min(k, logits.length) - 1];
  return logits.map((x) => (x < kth ? NEG_INF : x));
}

test('repetition penalty on hand values: positive divided, negative multiplied, each token once', () => {
  const logits = Float32Array.of(2, -2, 0, 1, 3);
  const ids = [0, 1, 2, 0, 0];
  assert.deepEqual([...applyRepetitionPenalty(logits, ids, 2)], [1, -4, 0, 1, 3]);
  assert.deepEqual([...applyRepetitionPenalty(logits, ids, 0.5)], [4, -1, 0, 1, 3]);
  assert.deepEqual([...applyRepetitionPenalty(logits, ids, 1)], [2, -2, 0, 1, 3]);
  assert.deepEqual([...logits], [2, -2, 0, 1, 3], 'input is not modified');
  assert.throws(() => applyRepetitionPenalty(logits, [5], 2), /token id 5 is outside the vocabulary \[0, 5\)/);
  assert.throws(() => applyRepetitionPenalty(logits, [], 0), QkvValueError);
});

test('temperature divides the logits; 0 is refused here (the sampler treats it as greedy)', () => {
  const logits = Float32Array.of(1, -2, 4, NEG_INF);
  assert.deepEqual([...applyTemperature(logits, 0.5)], [2, -4, 8, NEG_INF]);
  assert.deepEqual([...applyTemperature(logits, 2)], [0.5, -1, 2, NEG_INF]);
  assert.throws(() => applyTemperature(logits, 0), /temperature must be > 0/);
  assert.throws(() => applyTemperature(logits, -1), QkvValueError);
});

test('top-k keeps the k largest; ties at the k-th value are all kept, as in HF', () => {
  assert.deepEqual([...applyTopK(Float32Array.of(1, 3, 2, 3), 2)], [NEG_INF, 3, NEG_INF, 3]);
  assert.deepEqual([...applyTopK(Float32Array.of(1, 3, 2, 3), 1)], [NEG_INF, 3, NEG_INF, 3]);
  assert.deepEqual([...applyTopK(Float32Array.of(1, 3, 2, 2), 2)], [NEG_INF, 3, 2, 2]);
  assert.deepEqual([...applyTopK(Float32Array.of(5, 4, 6), 3)], [5, 4, 6]);
  assert.deepEqual([...applyTopK(Float32Array.of(5, 4, 6), 0)], [5, 4, 6], 'k = 0 disables');
  assert.deepEqual([...applyTopK(Float32Array.of(5, 4, 6), 10)], [5, 4, 6], 'k > V keeps all');
  assert.throws(() => applyTopK(Float32Array.of(1), -1), QkvValueError);
});

test('top-k agrees with the HF reference on random logits', () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 200; trial++) {
    let logits = randomLogits(rng, 1 + rng.randint(40));
    if (trial % 2 === 1) logits = logits.map(Math.round); // many ties
    const k = rng.randint(logits.length + 2);
    const expected = k === 0 ? logits : hfTopKReference(logits, k);
    assert.deepEqual([...applyTopK(logits, k)], [...expected], `trial ${trial}, k ${k}`);
  }
});

test('top-p keeps the smallest most-likely set with mass >= p, always at least one token', () => {
  const probs = [0.5, 0.3, 0.2];
  const logits = Float32Array.from(probs, Math.log);
  const kept = (p: number) => [...applyTopP(logits, p)].map((x) => x !== NEG_INF);
  assert.deepEqual(kept(0.7), [true, true, false]);
  assert.deepEqual(kept(0.5), [true, false, false], 'mass 0.5 already reaches p = 0.5');
  assert.deepEqual(kept(0.81), [true, true, true]);
  assert.deepEqual(kept(0), [true, false, false], 'p = 0 still keeps the top token');
  assert.deepEqual(kept(1), [true, true, true]);
  assert.equal(applyTopP(logits, 0.7)[1], logits[1], 'kept logits are unchanged');
  const tied = [...applyTopP(Float32Array.of(1, 1, 1, 1), 0.5)];
  assert.deepEqual(tied, [1, 1, NEG_INF, NEG_INF], 'equal logits are ranked by token id, lowest first');
  assert.throws(() => applyTopP(logits, 1.2), QkvValueError);
});

test('top-p agrees with the HF reference on random logits, after top-k', () => {
  const rng = new Rng(12);
  let compared = 0;
  for (let trial = 0; trial < 300; trial++) {
    let logits = randomLogits(rng, 2 + rng.randint(60));
    if (trial % 2 === 0) logits = applyTopK(logits, 1 + rng.randint(10));
    const p = rng.uniform();
    const ours = applyTopP(logits, p);
    const reference = hfTopPReference(logits, p);
    // Float rounding of the cumulative sum can flip a token whose mass boundary equals p to
    // within 1e-6; such draws are skipped rather than compared.
    const sortedProbs = [...softmax(logits)].sort((a, b) => b - a);
    let mass = 0;
    let nearBoundary = false;
    for (const q of sortedProbs) {
      mass += q;
      if (Math.abs(mass - p) < 1e-6) nearBoundary = true;
    }
    if (nearBoundary) continue;
    assert.deepEqual([...ours], [...reference], `trial ${trial}, p ${p}`);
    compared++;
  }
  assert.ok(compared > 290);
});

test('top-p agrees with the HF reference on a large vocabulary, flat and peaked', () => {
  const rng = new Rng(13);
  for (const scale of [0.5, 3, 8]) {
    const logits = randomLogits(rng, 5000, scale);
    for (const p of [0.3, 0.9, 0.99]) {
      const ours = applyTopP(logits, p);
      const reference = hfTopPReference(logits, p);
      const differing = ours.findIndex((x, i) => x !== reference[i]);
      assert.equal(differing, -1, `scale ${scale}, p ${p}: token ${differing} is ${ours[differing]}, HF reference ${reference[differing]}`);
    }
  }
});

test('eos is suppressed until min_new_tokens tokens were generated', () => {
  const logits = Float32Array.of(1, 2, 3);
  assert.deepEqual([...suppressEosUntilMinTokens(logits, [2], 0, 2)], [1, 2, NEG_INF]);
  assert.deepEqual([...suppressEosUntilMinTokens(logits, [2, 0], 1, 2)], [NEG_INF, 2, NEG_INF]);
  assert.deepEqual([...suppressEosUntilMinTokens(logits, [2], 2, 2)], [1, 2, 3]);
});

test('softmax and logSoftmax are stable for large logits and agree', () => {
  const logits = Float32Array.of(1000, 999, NEG_INF, 998);
  const probs = softmax(logits);
  const logProbs = logSoftmax(logits);
  const total = Math.exp(0) + Math.exp(-1) + Math.exp(-2);
  assert.ok(Math.abs(probs[0] - 1 / total) < 1e-15);
  assert.equal(probs[2], 0);
  for (let i = 0; i < logits.length; i++) {
    assert.ok(Math.abs(Math.exp(logProbs[i]) - probs[i]) < 1e-14, `index ${i}: exp(logSoftmax) ${Math.exp(logProbs[i])} vs softmax ${probs[i]}`);
  }
  assert.throws(() => softmax(Float32Array.of(NEG_INF, NEG_INF)), /no token is left/);
  assert.throws(() => softmax(Float32Array.of(0, Number.NaN)), /logit 1 is NaN/);
});

test('processLogits: processors only when greedy, warpers in HF order when sampling', () => {
  const logits = Float32Array.of(4, 2, -1, 0.5, 3);
  const greedy = processLogits(logits, [0, 2], resolveGenerationConfig({ repetition_penalty: 2, temperature: 0.5, top_k: 1 }));
  assert.deepEqual([...greedy], [2, 2, -2, 0.5, 3], 'greedy: penalty applied, no temperature, no top-k');
  const sampled = processLogits(logits, [0, 2], resolveGenerationConfig({ do_sample: true, repetition_penalty: 2, temperature: 0.5, top_k: 2 }));
  // penalty → [2, 2, -2, 0.5, 3]; temperature → [4, 4, -4, 1, 6]; top-2 → 6 and the tied 4s kept.
  assert.deepEqual([...sampled], [4, 4, NEG_INF, NEG_INF, 6]);
});
