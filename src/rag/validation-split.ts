/**
 * A validation split for tuning the embedder without looking at the eval queries.
 *
 * The shipped eval (./brown-eval.ts, seed 14) holds one sentence out of 120 Brown documents and
 * turns it into a query. Choosing training settings by their score on those queries would tune on
 * the test set. This split is made from the training side only: the eval's held-out sentences are
 * removed from the corpus first, then a second set of sentences is held out the same way (another
 * seed) and rewritten into validation queries. Its documents therefore contain neither the eval's
 * nor the validation's held-out sentences, and the validation queries are made from sentences that
 * the shipped eval indexes (and an embedder may train on) — never from eval sentences.
 *
 * Measured with it (LSA start, no contrastive steps, 10,771 chunks; see the README's RAG
 * section): the defaults (documents as LSA units, alpha 1, 1 component skipped) beat paragraph
 * or chunk units, fewer components, alpha 0.5/1.5/2 and skipping 0 or 3.
 *
 * @example
 *   const split = makeValidationSplit({ brownText: readFileSync('data/brown.txt', 'utf8') });
 *   split.documents; // index and train on these
 *   split.queries;   // score settings on these
 */
import { makeBrownEval, BROWN_EVAL_DEFAULTS, type BrownEvalSet } from './brown-eval.ts';

export interface ValidationSplitOptions {
  /** The text of data/brown.txt (one sentence per line, documents separated by blank lines). */
  brownText: string;
  /** Seed of the eval whose held-out sentences are removed first (default 14, the shipped eval's). */
  evalSeed?: number;
  /** Documents given a query in the eval (default 120, the shipped eval's). */
  evalDocuments?: number;
  /** Seed of the validation hold-out (default 2014); must differ from evalSeed. */
  seed?: number;
  /** Documents given a validation query (default 120). */
  documents?: number;
}

export interface ValidationSplit extends BrownEvalSet {
  /** The eval's held-out sentences, removed before the validation set was made. */
  evalHeldOutSentences: string[];
}

export function makeValidationSplit(options: ValidationSplitOptions): ValidationSplit {
  const evalSet = makeBrownEval({ brownText: options.brownText, seed: options.evalSeed ?? BROWN_EVAL_DEFAULTS.seed, documents: options.evalDocuments ?? BROWN_EVAL_DEFAULTS.documents });
  const evalHeldOut = new Set(evalSet.heldOutSentences.map((sentence) => sentence.trim()));
  // One sentence per line: dropping the eval's lines removes exactly its held-out sentences.
  const trainingSide = options.brownText.split('\n').filter((line) => !evalHeldOut.has(line.trim())).join('\n');
  const validation = makeBrownEval({ brownText: trainingSide, seed: options.seed ?? 2014, documents: options.documents ?? BROWN_EVAL_DEFAULTS.documents });
  return { ...validation, evalHeldOutSentences: evalSet.heldOutSentences };
}
