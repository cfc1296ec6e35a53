/**
 * Logits processors: each takes the next-token logits of one position, (V), and returns a new
 * (V) array, leaving its input untouched. They follow Hugging Face's `LogitsProcessor` /
 * `LogitsWarper` classes one for one, and `processLogits` applies them in HF's order:
 *
 *   repetition penalty → min-new-tokens (eos suppression)   — "processors", also used when greedy
 *   → temperature → top-k → top-p                            — "warpers", only when sampling
 *
 * A removed token gets −∞ (HF's `filter_value`), so its probability after softmax is exactly 0.
 *
 * Legend: V = vocabulary size.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { isGreedy, type ResolvedGenerationConfig } from './config.ts';

/**
 * CTRL repetition penalty (Keskar et al. 2019) as HF's `RepetitionPenaltyLogitsProcessor`: for
 * every distinct token in `previousIds`, a logit > 0 is divided by `penalty` and a logit < 0 is
 * multiplied by it, so with penalty > 1 a seen token always becomes less likely.
 *
 * @example
 * applyRepetitionPenalty(Float32Array.of(2, -2, 1), [0, 1], 2) // [1, -4, 1]
 */
export function applyRepetitionPenalty(logits: Float32Array, previousIds: readonly number[], penalty: number): Float32Array {
  if (!(penalty > 0) || !Number.isFinite(penalty)) throw new QkvValueError(`applyRepetitionPenalty: penalty must be > 0, got ${penalty}`);
  const out = logits.slice();
  if (penalty === 1) return out;
  const seen = new Set<number>();
  for (const id of previousIds) {
    checkTokenId(id, logits.length, 'applyRepetitionPenalty');
    if (seen.has(id)) continue; // HF gathers then scatters: a repeated id is penalised once
    seen.add(id);
    const score = logits[id];
    out[id] = score < 0 ? score * penalty : score / penalty;
  }
  return out;
}

/**
 * HF's `MinNewTokensLengthLogitsProcessor`: while fewer than `minNewTokens` tokens have been
 * generated, the end-of-sequence tokens get −∞ so generation cannot end yet.
 */
export function suppressEosUntilMinTokens(
  logits: Float32Array,
  eosTokenIds: readonly number[],
  newTokenCount: number,
  minNewTokens: number,
): Float32Array {
  const out = logits.slice();
  if (newTokenCount >= minNewTokens) return out;
  for (const id of eosTokenIds) {
    checkTokenId(id, logits.length, 'suppressEosUntilMinTokens');
    out[id] = -Infinity;
  }
  return out;
}

/**
 * Divides every logit by `temperature` (HF's `TemperatureLogitsWarper`): below 1 sharpens the
 * distribution, above 1 flattens it. Temperature 0 is greedy decoding, which the sampler handles
 * by argmax; here it is an error rather than a division by zero.
 */
export function applyTemperature(logits: Float32Array, temperature: number): Float32Array {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new QkvValueError(`applyTemperature: temperature must be > 0 (0 = greedy is handled by the sampler), got ${temperature}`);
  }
  const out = logits.slice();
  if (temperature === 1) return out;
  for (let i = 0; i < out.length; i++) out[i] = logits[i] / temperature;
  return out;
}

/**
 * Keeps the `k` largest logits and sets the others to −∞ (HF's `TopKLogitsWarper`). As in HF,
 * a token is removed only when its logit is strictly below the k-th largest, so every token tied
 * with the k-th is kept: the kept set does not depend on token order. `k = 0` or `k ≥ V` keeps all.
 *
 * @example
 * applyTopK(Float32Array.of(1, 3, 2, 3), 2) // [-Infinity, 3, -Infinity, 3]
 */
export function applyTopK(logits: Float32Array, k: number): Float32Array {
  if (!Number.isInteger(k) || k < 0) throw new QkvValueError(`applyTopK: k must be an integer >= 0, got ${k}`);
  const out = logits.slice();
  if (k === 0 || k >= logits.length) return out;
  const threshold = kthLargest(logits, k);
  for (let i = 0; i < out.length; i++) if (out[i] < threshold) out[i] = -Infinity;
  return out;
}

/**
 * The k-th largest value, with a size-k min-heap: one comparison for most of the V entries, so
 * O(V) in practice where a full sort of a 50k vocabulary costs ten times more.
 */
function kthLargest(values: Float32Array, k: number): number {
  const heap = new Float32Array(k); // heap[0] is the smallest of the k largest seen so far
  for (let i = 0; i < k; i++) siftUp(heap, i, values[i]);
  for (let i = k; i < values.length; i++) {
    if (values[i] > heap[0]) siftDown(heap, k, values[i]);
  }
  return heap[0];
}

/** Inserts `value` at position `size` of a min-heap and restores the heap order. */
function siftUp(heap: Float32Array, size: number, value: number): void {
  let child = size;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    if (heap[parent] <= value) break;
    heap[child] = heap[parent];
    child = parent;
  }
  heap[child] = value;
}

/** Replaces the root of a min-heap of `size` entries with `value` and restores the heap order. */
function siftDown(heap: Float32Array, size: number, value: number): void {
  let parent = 0;
  for (;;) {
    let child = 2 * parent + 1;
    if (child >= size) break;
    if (child + 1 < size && heap[child + 1] < heap[child]) child++;
    if (heap[child] >= value) break;
    heap[parent] = heap[child];
    parent = child;
  }
  heap[parent] = value;
}

/**
 * Nucleus filtering (Holtzman et al. 2019) as HF's `TopPLogitsWarper`: sorts tokens by
 * probability, keeps the smallest set of most likely tokens whose total probability is ≥ `p`,
 * and sets the rest to −∞. A token is kept when the mass of the tokens ranked above it is still
 * < p, so the most likely token is always kept (HF's `min_tokens_to_keep = 1`). Equal logits are
 * ranked by token id, lowest first. `p = 1` keeps all.
 *
 * @example
 * // probabilities [0.5, 0.3, 0.2]: with p = 0.7 the first two (mass 0.8) are kept
 * applyTopP(Float32Array.from([0.5, 0.3, 0.2], Math.log), 0.7) // [log 0.5, log 0.3, -Infinity]
 */
export function applyTopP(logits: Float32Array, p: number): Float32Array {
  if (!(p >= 0 && p <= 1)) throw new QkvValueError(`applyTopP: p must be in [0, 1], got ${p}`);
  const out = logits.slice();
  if (p === 1) return out;
  const maxLogit = maxOf(logits, 'applyTopP');
  const weights = new Float64Array(logits.length); // unnormalised probabilities
  let total = 0;
  let finiteCount = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] === -Infinity) continue;
    weights[i] = Math.exp(logits[i] - maxLogit);
    total += weights[i];
    finiteCount++;
  }
  // Only candidates need sorting. A token of probability q < (1 − p)/(2n), n tokens in play, can
  // never be kept: it and everything ranked below it weigh at most n·q < (1 − p)/2, so the mass
  // above it exceeds p. After top-k that leaves k tokens, and with top-k off often far fewer than
  // V. Their values (not ids with a comparator) get a native sort.
  const minWeight = (total * (1 - p)) / (2 * finiteCount);
  let candidateCount = 0;
  for (let i = 0; i < logits.length; i++) if (weights[i] > 0 && weights[i] >= minWeight) candidateCount++;
  const sorted = new Float32Array(candidateCount);
  for (let i = 0, n = 0; i < logits.length; i++) if (weights[i] > 0 && weights[i] >= minWeight) sorted[n++] = logits[i];
  sorted.sort().reverse(); // descending
  // Walk down the ranking: a token is kept while the mass ranked above it is still < p.
  let massAbove = 0;
  let keptCount = 0;
  while (keptCount < candidateCount && (keptCount === 0 || massAbove < p)) {
    massAbove += Math.exp(sorted[keptCount] - maxLogit) / total;
    keptCount++;
  }
  // Everything above the last kept value is kept; of the tokens equal to it, the lowest ids.
  const lastKept = sorted[keptCount - 1];
  let aboveCount = 0;
  while (aboveCount < keptCount && sorted[aboveCount] > lastKept) aboveCount++;
  let tiedToKeep = keptCount - aboveCount;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (x > lastKept) continue;
    if (x === lastKept && tiedToKeep > 0) {
      tiedToKeep--;
      continue;
    }
    out[i] = -Infinity;
  }
  return out;
}

/**
 * Softmax in float64, max subtracted first so `exp` never overflows. All −∞ is an error: every
 * token has been removed and there is nothing to sample.
 */
export function softmax(logits: ArrayLike<number>): Float64Array {
  const maxLogit = maxOf(logits, 'softmax');
  const probs = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] === -Infinity) continue; // most of V after top-k; exp(−∞) = 0 without the call
    probs[i] = Math.exp(logits[i] - maxLogit);
    total += probs[i];
  }
  for (let i = 0; i < probs.length; i++) probs[i] /= total;
  return probs;
}

/** log(softmax(logits)) in float64, as (x − max) − log Σ exp(x − max): no cancellation for large logits. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  const maxLogit = maxOf(logits, 'logSoftmax');
  let total = 0;
  for (let i = 0; i < logits.length; i++) total += Math.exp(logits[i] - maxLogit);
  const logTotal = Math.log(total);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - maxLogit - logTotal;
  return out;
}

/**
 * Applies HF's processors, then (when sampling) its warpers, in HF's order; see the file comment.
 * `previousIds` is every token so far, prompt included (HF penalises prompt tokens too);
 * `newTokenCount` is how many of them were generated (for `min_new_tokens`).
 */
export function processLogits(
  logits: Float32Array,
  previousIds: readonly number[],
  config: ResolvedGenerationConfig,
  newTokenCount: number = previousIds.length,
): Float32Array {
  let scores = applyRepetitionPenalty(logits, previousIds, config.repetition_penalty);
  if (config.min_new_tokens > 0) scores = suppressEosUntilMinTokens(scores, config.eos_token_id, newTokenCount, config.min_new_tokens);
  if (isGreedy(config)) return scores;
  scores = applyTemperature(scores, config.temperature);
  scores = applyTopK(scores, config.top_k);
  scores = applyTopP(scores, config.top_p);
  return scores;
}

/** Largest entry; throws on NaN, on +∞ and when every entry is −∞ (nothing left to choose). */
function maxOf(logits: ArrayLike<number>, op: string): number {
  if (logits.length === 0) throw new QkvValueError(`${op}: logits are empty`);
  let maxLogit = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (Number.isNaN(x) || x === Infinity) throw new QkvValueError(`${op}: logit ${i} is ${x}`);
    if (x > maxLogit) maxLogit = x;
  }
  if (maxLogit === -Infinity) throw new QkvValueError(`${op}: every logit is -Infinity; no token is left to choose`);
  return maxLogit;
}

function checkTokenId(id: number, vocabSize: number, op: string): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
    throw new QkvValueError(`${op}: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
  }
}
