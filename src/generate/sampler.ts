/**
 * Choosing the next token from one position's logits, (V).
 *
 * Greedy (`do_sample: false` or `temperature: 0`): HF's processors (repetition penalty, eos
 * suppression), then argmax. No random number is drawn.
 * Sampling: processors and warpers (temperature, top-k, top-p), softmax, then one
 * `rng.categorical` draw, so a seeded `Rng` gives the same tokens on every run.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { isGreedy, resolveGenerationConfig, type GenerationConfig, type ResolvedGenerationConfig } from './config.ts';
import { logSoftmax, processLogits, softmax } from './logits-processors.ts';

/**
 * Picks the next token id.
 *
 * @param logits next-token logits, (V); not modified
 * @param previousIds every token so far, prompt included (the repetition penalty reads them)
 * @param config generation settings (validated here)
 * @param rng the sampler's generator; `defaultRng` when omitted
 * @param newTokenCount how many of `previousIds` were generated, for `min_new_tokens`; defaults to all of them
 *
 * @example
 * const rng = new Rng(0);
 * sampleNextToken(logits, ids, { do_sample: true, temperature: 0.8, top_k: 40 }, rng);
 */
export function sampleNextToken(
  logits: Float32Array,
  previousIds: readonly number[],
  config: GenerationConfig | ResolvedGenerationConfig = {},
  rng: Rng = defaultRng,
  newTokenCount: number = previousIds.length,
): number {
  const resolved = resolveGenerationConfig(config);
  checkLogits(logits);
  const scores = processLogits(logits, previousIds, resolved, newTokenCount);
  if (isGreedy(resolved)) {
    const best = argmax(scores);
    if (scores[best] === -Infinity) throw new QkvValueError('sampleNextToken: every logit is -Infinity; no token is left to choose');
    return best;
  }
  return rng.categorical(softmax(scores));
}

/** Index of the largest entry; the first one when several are equal. */
export function argmax(values: ArrayLike<number>): number {
  if (values.length === 0) throw new QkvValueError('argmax: empty array');
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * log p(tokenId) under softmax(logits), in float64: what a scorer or perplexity needs.
 *
 * @example
 * tokenLogProb(Float32Array.of(0, 0), 1) // Math.log(0.5)
 */
export function tokenLogProb(logits: ArrayLike<number>, tokenId: number): number {
  if (!Number.isInteger(tokenId) || tokenId < 0 || tokenId >= logits.length) {
    throw new QkvValueError(`tokenLogProb: token id ${tokenId} is outside the vocabulary [0, ${logits.length})`);
  }
  return logSoftmax(logits)[tokenId];
}

/** A model that returns NaN or +∞ has a bug upstream; say so here rather than sample garbage. */
function checkLogits(logits: Float32Array): void {
  if (!(logits instanceof Float32Array)) throw new QkvValueError('sampleNextToken: logits must be a Float32Array');
  if (logits.length === 0) throw new QkvValueError('sampleNextToken: logits are empty');
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (Number.isNaN(x) || x === Infinity) throw new QkvValueError(`sampleNextToken: logit ${i} is ${x}`);
  }
}
