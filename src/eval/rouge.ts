/**
 * ROUGE-1, ROUGE-2 and ROUGE-L (Lin 2004) exactly as Google's `rouge-score` package computes them
 * without stemming (rouge_score/tokenize.py, rouge_scorer.py):
 *
 * - tokens: lower-case, every run of characters outside [a-z0-9] becomes a space, split on
 *   whitespace, keep tokens matching ^[a-z0-9]+$ (so non-ASCII letters vanish, as there);
 * - ROUGE-N: overlap = Σ min(count_hyp, count_ref) over n-grams; precision = overlap / max(#hyp n-grams, 1),
 *   recall = overlap / max(#ref n-grams, 1);
 * - ROUGE-L: LCS length over the token sequences; precision = LCS / |hyp|, recall = LCS / |ref|
 *   (all 0 when either side has no tokens);
 * - F-measure = 2PR / (P + R), 0 when P + R = 0.
 *
 * Several references per segment: rouge-score's `score_multi`, the reference with the best F-measure.
 * The corpus figure is the mean over segments (what people report from rouge-score's per-segment scores).
 */
import { QkvValueError } from '../tensor/errors.ts';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export interface RougeScores {
  rouge1: RougeScore;
  rouge2: RougeScore;
  rougeL: RougeScore;
}

/** rouge-score's tokenizer without a stemmer. @example rougeTokenize('The Cat-sat!') // ['the', 'cat', 'sat'] */
export function rougeTokenize(text: string): string[] {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, ' ').split(/\s+/).filter((token) => /^[a-z0-9]+$/.test(token));
}

function fScore(precision: number, recall: number): RougeScore {
  return { precision, recall, fmeasure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(' ');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** ROUGE-N of token lists. */
export function rougeN(hypothesis: readonly string[], reference: readonly string[], n: number): RougeScore {
  const hypothesisCounts = ngramCounts(hypothesis, n);
  const referenceCounts = ngramCounts(reference, n);
  let overlap = 0;
  for (const [ngram, count] of hypothesisCounts) overlap += Math.min(count, referenceCounts.get(ngram) ?? 0);
  const hypothesisTotal = Math.max(0, hypothesis.length - n + 1);
  const referenceTotal = Math.max(0, reference.length - n + 1);
  return fScore(overlap / Math.max(hypothesisTotal, 1), overlap / Math.max(referenceTotal, 1));
}

/** Length of the longest common subsequence (dynamic programming, two rows). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Int32Array(b.length + 1);
  let current = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length];
}

/** ROUGE-L of token lists. */
export function rougeL(hypothesis: readonly string[], reference: readonly string[]): RougeScore {
  if (hypothesis.length === 0 || reference.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(hypothesis, reference);
  return fScore(lcs / hypothesis.length, lcs / reference.length);
}

/**
 * ROUGE-1/2/L of one hypothesis against one or more references (best F-measure per type).
 *
 * @example rougeScores('the cat sat', 'the cat sat on the mat').rougeL.recall // 0.5
 */
export function rougeScores(hypothesis: string, references: string | readonly string[]): RougeScores {
  const referenceList = typeof references === 'string' ? [references] : references;
  if (referenceList.length === 0) throw new QkvValueError('ROUGE: a segment needs at least one reference');
  const hypothesisTokens = rougeTokenize(hypothesis);
  const best = (score: (reference: string[]) => RougeScore): RougeScore =>
    referenceList.map((reference) => score(rougeTokenize(reference))).reduce((a, b) => (b.fmeasure > a.fmeasure ? b : a));
  return {
    rouge1: best((reference) => rougeN(hypothesisTokens, reference, 1)),
    rouge2: best((reference) => rougeN(hypothesisTokens, reference, 2)),
    rougeL: best((reference) => rougeL(hypothesisTokens, reference)),
  };
}

/** Mean per-segment ROUGE over a corpus, one reference (or list of references) per hypothesis. */
export function rougeCorpus(hypotheses: readonly string[], references: readonly (string | readonly string[])[]): RougeScores {
  if (hypotheses.length !== references.length) {
    throw new QkvValueError(`ROUGE: ${hypotheses.length} hypotheses but ${references.length} references (one line per segment)`);
  }
  const sum: RougeScores = { rouge1: { precision: 0, recall: 0, fmeasure: 0 }, rouge2: { precision: 0, recall: 0, fmeasure: 0 }, rougeL: { precision: 0, recall: 0, fmeasure: 0 } };
  hypotheses.forEach((hypothesis, i) => {
    const scores = rougeScores(hypothesis, references[i]);
    for (const type of ['rouge1', 'rouge2', 'rougeL'] as const) {
      for (const field of ['precision', 'recall', 'fmeasure'] as const) sum[type][field] += scores[type][field];
    }
  });
  const count = Math.max(hypotheses.length, 1);
  for (const type of ['rouge1', 'rouge2', 'rougeL'] as const) for (const field of ['precision', 'recall', 'fmeasure'] as const) sum[type][field] /= count;
  return sum;
}
