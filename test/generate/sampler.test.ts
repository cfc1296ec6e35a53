import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmax, sampleNextToken, tokenLogProb } from '../../src/generate/sampler.ts';
import type { GenerationConfig } from '../../src/generate/config.ts';
import { Rng } from '../../src/tensor/random.ts';
import { QkvValueError } from '../../src/tensor/errors.ts';

/**
 * A hand-made distribution over 8 tokens, deliberately not sorted by id.
 * Sorted: 3 (0.30), 6 (0.25), 0 (0.15), 5 (0.12), 1 (0.08), 7 (0.05), 2 (0.03), 4 (0.02).
 */
const PROBS = [0.15, 0.08, 0.03, 0.3, 0.02, 0.12, 0.25, 0.05];
const LOGITS = Float32Array.from(PROBS, (p) => Math.log(p) + 1.5); // a shift changes nothing
const DRAWS = 20_000;
/**
 * Largest allowed |empirical − expected| frequency. The largest binomial standard deviation
 * here is √(0.25·0.75/20000) ≈ 0.0031, so 0.015 is about 5σ.
 */
const FREQUENCY_TOLERANCE = 0.015;

function drawFrequencies(config: GenerationConfig, seed: number): number[] {
  const rng = new Rng(seed);
  const counts = new Array<number>(PROBS.length).fill(0);
  for (let i = 0; i < DRAWS; i++) counts[sampleNextToken(LOGITS, [], config, rng)]++;
  return counts.map((c) => c / DRAWS);
}

/** The probabilities restricted to `kept` and renormalised. */
function renormalised(kept: number[]): number[] {
  const mass = kept.reduce((sum, id) => sum + PROBS[id], 0);
  return PROBS.map((p, id) => (kept.includes(id) ? p / mass : 0));
}

function assertFrequencies(actual: number[], expected: number[], what: string): void {
  for (let id = 0; id < expected.length; id++) {
    if (expected[id] === 0) {
      assert.equal(actual[id], 0, `${what}: token ${id} is outside the set but was drawn with frequency ${actual[id]}`);
    } else {
      const error = Math.abs(actual[id] - expected[id]);
      assert.ok(error < FREQUENCY_TOLERANCE, `${what}: token ${id} frequency ${actual[id].toFixed(4)}, expected ${expected[id].toFixed(4)} (error ${error.toFixed(4)} >= ${FREQUENCY_TOLERANCE})`);
    }
  }
}

test('temperature 0 and do_sample false are argmax (first max on ties) and draw no random numbers', () => {
  const rng = new Rng(3);
  const before = rng.getState();
  const source = new Rng(4);
  for (let trial = 0; trial < 200; trial++) {
    const logits = Float32Array.from({ length: 1 + source.randint(50) }, () => source.normal(0, 2));
    const expected = argmax(logits);
    assert.equal(sampleNextToken(logits, [], { do_sample: true, temperature: 0, top_k: 3, top_p: 0.5 }, rng), expected, `trial ${trial}`);
    assert.equal(sampleNextToken(logits, [], { do_sample: false, temperature: 1.3 }, rng), expected, `trial ${trial}`);
    assert.equal(sampleNextToken(logits, [], {}, rng), expected, 'the default config is greedy, as in HF');
  }
  assert.deepEqual(rng.getState(), before);
  assert.equal(sampleNextToken(Float32Array.of(1, 5, 5, 2), [], { temperature: 0 }), 1);
  assert.equal(argmax([-Infinity, -3, -3]), 1);
});

test('greedy still applies the repetition penalty and eos suppression, as HF does', () => {
  const logits = Float32Array.of(3, 2, 1);
  assert.equal(sampleNextToken(logits, [0], { repetition_penalty: 2 }), 1);
  assert.equal(sampleNextToken(logits, [], { eos_token_id: 0, min_new_tokens: 1 }, new Rng(0), 0), 1);
  assert.equal(sampleNextToken(logits, [5], { eos_token_id: 0, min_new_tokens: 1 }, new Rng(0), 1), 0);
});

test('plain sampling matches the softmax probabilities', () => {
  assertFrequencies(drawFrequencies({ do_sample: true, top_k: 0 }, 1), PROBS, 'temperature 1');
});

test('top-k never samples outside the top k, and inside matches the renormalised probabilities', () => {
  assertFrequencies(drawFrequencies({ do_sample: true, top_k: 3 }, 2), renormalised([3, 6, 0]), 'top_k 3');
  assertFrequencies(drawFrequencies({ do_sample: true, top_k: 1 }, 3), renormalised([3]), 'top_k 1');
});

test('top-p never samples outside the nucleus, and inside matches the renormalised probabilities', () => {
  // Masses from the top: 0.30, 0.55, 0.70, 0.82 — p = 0.75 needs the first four.
  assertFrequencies(drawFrequencies({ do_sample: true, top_k: 0, top_p: 0.75 }, 4), renormalised([3, 6, 0, 5]), 'top_p 0.75');
  assertFrequencies(drawFrequencies({ do_sample: true, top_k: 0, top_p: 0.5 }, 5), renormalised([3, 6]), 'top_p 0.5');
  // top-k first, then top-p over the renormalised top-k: top 3 renormalised = 0.43, 0.36, 0.21.
  assertFrequencies(drawFrequencies({ do_sample: true, top_k: 3, top_p: 0.6 }, 6), renormalised([3, 6]), 'top_k 3 then top_p 0.6');
});

test('temperature reshapes the distribution as p^(1/T)', () => {
  const temperature = 0.5;
  const powered = PROBS.map((p) => p ** (1 / temperature));
  const total = powered.reduce((a, b) => a + b, 0);
  assertFrequencies(drawFrequencies({ do_sample: true, top_k: 0, temperature }, 7), powered.map((p) => p / total), 'temperature 0.5');
});

test('the same seed gives the same tokens; another seed differs', () => {
  const config = { do_sample: true, temperature: 1.2 };
  const run = (seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: 50 }, () => sampleNextToken(LOGITS, [], config, rng));
  };
  assert.deepEqual(run(9), run(9));
  assert.notDeepEqual(run(9), run(10));
});

test('tokenLogProb is log softmax at the token', () => {
  assert.ok(Math.abs(tokenLogProb(Float32Array.of(0, 0), 1) - Math.log(0.5)) < 1e-15);
  for (let id = 0; id < PROBS.length; id++) {
    assert.ok(Math.abs(tokenLogProb(LOGITS, id) - Math.log(PROBS[id])) < 1e-6, `token ${id}`);
  }
  assert.throws(() => tokenLogProb(LOGITS, 8), /token id 8 is outside the vocabulary/);
});

test('bad logits and configs are named errors', () => {
  assert.throws(() => sampleNextToken(Float32Array.of(0, Number.NaN), [], {}), /logit 1 is NaN/);
  assert.throws(() => sampleNextToken(new Float32Array(0), [], {}), /logits are empty/);
  assert.throws(() => sampleNextToken(Float32Array.of(-Infinity, -Infinity), [], {}), /no token is left/);
  assert.throws(() => sampleNextToken(Float32Array.of(-Infinity, -Infinity), [], { do_sample: true }), /no token is left/);
  assert.throws(() => sampleNextToken(LOGITS, [], { top_p: 2 }), (error: unknown) => error instanceof QkvValueError && /top_p/.test(error.message));
  assert.throws(() => sampleNextToken(LOGITS, [], { topK: 5 } as GenerationConfig), /unknown or unsupported field "topK"/);
});
