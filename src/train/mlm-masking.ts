/**
 * BERT's masked-language-model corruption (Devlin et al. 2019, §3.1; Google's
 * `create_pretraining_data.py`): each ordinary token is chosen with probability 15%; a chosen token
 * becomes [MASK] 80% of the time, a random token 10%, and stays itself 10% (so the model cannot
 * learn that only [MASK] positions matter). The label is the original id at chosen positions and
 * -100 (the cross-entropy's ignore-index) everywhere else, so the loss sees chosen positions only.
 *
 * Whole-word masking chooses words instead of pieces: a word and all its `##` continuations are
 * chosen together (each piece then replaced 80/10/10, as in Google's implementation).
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Rng } from '../tensor/random.ts';

/** The label of a position the loss must ignore. */
export const IGNORE_INDEX = -100;

export interface MaskingOptions {
  /** Share of tokens chosen for prediction (BERT: 0.15). */
  maskProbability?: number;
  /** Of the chosen, share replaced by [MASK] (BERT: 0.8). */
  maskTokenRate?: number;
  /** Of the chosen, share replaced by a random ordinary token (BERT: 0.1); the rest stay unchanged. */
  randomTokenRate?: number;
  /** Choose whole words (a piece and its `##` continuations together). Default false. */
  wholeWordMasking?: boolean;
}

export interface MaskingVocabulary {
  maskId: number;
  /** Ids never chosen ([CLS], [SEP], [PAD], …). */
  specialIds: ReadonlySet<number>;
  /** Ids a random replacement is drawn from (the ordinary tokens). */
  randomIds: readonly number[];
  /** True for a `##` continuation piece (for whole-word masking). */
  isContinuation(id: number): boolean;
}

export interface MaskedSequence {
  inputIds: number[];
  /** Original id at chosen positions, -100 elsewhere. */
  labels: number[];
}

/** Resolved options with BERT's defaults; errors name the field. */
export function resolveMaskingOptions(options: MaskingOptions = {}): Required<MaskingOptions> {
  const resolved = { maskProbability: 0.15, maskTokenRate: 0.8, randomTokenRate: 0.1, wholeWordMasking: false, ...options };
  for (const field of ['maskProbability', 'maskTokenRate', 'randomTokenRate'] as const) {
    if (!(resolved[field] >= 0 && resolved[field] <= 1)) throw new QkvValueError(`masking: ${field} must be in [0, 1], got ${resolved[field]}`);
  }
  if (resolved.maskTokenRate + resolved.randomTokenRate > 1) {
    throw new QkvValueError(`masking: maskTokenRate + randomTokenRate must be ≤ 1, got ${resolved.maskTokenRate} + ${resolved.randomTokenRate}`);
  }
  return resolved;
}

/**
 * Corrupts one sequence for MLM.
 *
 * @example
 * const { inputIds, labels } = maskTokens([2, 17, 40, 3], vocabulary, rng); // e.g. [2, 4, 40, 3], [-100, 17, -100, -100]
 */
export function maskTokens(ids: readonly number[], vocabulary: MaskingVocabulary, rng: Rng, options: MaskingOptions = {}): MaskedSequence {
  const { maskProbability, maskTokenRate, randomTokenRate, wholeWordMasking } = resolveMaskingOptions(options);
  if (vocabulary.randomIds.length === 0) throw new QkvValueError('masking: no ordinary tokens to draw random replacements from');
  const inputIds = [...ids];
  const labels = new Array<number>(ids.length).fill(IGNORE_INDEX);
  let chosenWord = false;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (vocabulary.specialIds.has(id)) {
      chosenWord = false;
      continue;
    }
    // A continuation piece follows its word's decision; anything else draws afresh.
    const continuesWord = wholeWordMasking && i > 0 && vocabulary.isContinuation(id) && !vocabulary.specialIds.has(ids[i - 1]);
    const chosen: boolean = continuesWord ? chosenWord : rng.uniform() < maskProbability;
    chosenWord = chosen;
    if (!chosen) continue;
    labels[i] = id;
    const roll = rng.uniform();
    if (roll < maskTokenRate) inputIds[i] = vocabulary.maskId;
    else if (roll < maskTokenRate + randomTokenRate) inputIds[i] = vocabulary.randomIds[rng.randint(vocabulary.randomIds.length)];
  }
  return { inputIds, labels };
}
