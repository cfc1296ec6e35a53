/**
 * BLEU (Papineni et al. 2002) exactly as sacreBLEU 2.x computes it (sacrebleu/metrics/bleu.py,
 * tokenizers/tokenizer_13a.py): the same tokenisation, statistics, smoothing and printed line, so
 * a score from here can be quoted next to one from `sacrebleu`.
 *
 * - tokenisation '13a' (mteval-v13a.pl): unescape a few HTML entities, split punctuation and
 *   symbols off, periods and commas unless inside a number, a dash after a digit; 'none' splits on
 *   whitespace only. The hypothesis and references are right-stripped first.
 * - statistics per segment: clipped n-gram matches (n = 1 … 4) against the per-n-gram maximum
 *   count over the references, and the length of the reference closest to the hypothesis length
 *   (the shorter one on a tie); summed over the corpus.
 * - score = BP · exp(mean_n log p_n), BP = exp(1 − r/c) when c < r (0 for an empty system);
 *   no match at all gives 0.
 * - smoothing (Chen & Cherry 2014): 'exp' (sacreBLEU's default, NIST: the k-th zero-match order
 *   gets 1/(2^k · total)), 'floor' (ε = 0.1 matches), 'add-k' (k = 1 added for n > 1), 'none'.
 *   With every order matched (any real corpus) all four give the same score.
 * - sentence BLEU: sacreBLEU's `sentence_bleu` defaults, 'exp' smoothing with effective order
 *   (orders the hypothesis is too short for are left out of the mean).
 *
 * Several references: `references[k][i]` is the k-th reference of segment i (sacreBLEU's layout);
 * an empty reference string (or null) means segment i has fewer references.
 */
import { QkvValueError } from '../tensor/errors.ts';

export type BleuTokenizer = '13a' | 'none';
export type BleuSmoothing = 'exp' | 'floor' | 'add-k' | 'none';

export interface BleuOptions {
  /** Default '13a'. */
  tokenize?: BleuTokenizer;
  /** Default 'exp' (sacreBLEU's). */
  smoothMethod?: BleuSmoothing;
  /** ε for 'floor' (default 0.1), k for 'add-k' (default 1). */
  smoothValue?: number;
  /** Highest n-gram order (default 4). */
  maxNgramOrder?: number;
  /** Leave out orders with no hypothesis n-grams (sentence BLEU). Default false. */
  effectiveOrder?: boolean;
  /** Lower-case hypotheses and references first. Default false. */
  lowercase?: boolean;
}

export interface BleuScore {
  /** 0–100. */
  score: number;
  /** p_n in percent, n = 1 … maxNgramOrder. */
  precisions: number[];
  /** Matched and hypothesis n-gram counts per order. */
  counts: number[];
  totals: number[];
  /** Brevity penalty. */
  bp: number;
  /** sys_len / ref_len. */
  ratio: number;
  sys_len: number;
  ref_len: number;
}

const SMOOTH_DEFAULTS: Record<BleuSmoothing, number> = { exp: 0, floor: 0.1, 'add-k': 1, none: 0 };

// tokenizer_re.py, in order: symbols and punctuation; period/comma after a non-digit; before a non-digit; dash after a digit.
const TOKENIZER_13A_RULES: [RegExp, string][] = [
  [/([{-~[-` -&(-+:-@/])/g, ' $1 '],
  [/([^0-9])([.,])/g, '$1 $2 '],
  [/([.,])([^0-9])/g, ' $1 $2'],
  [/([0-9])(-)/g, '$1 $2 '],
];

/** mteval-v13a tokenisation. @example tokenize13a("It wasn't surprising.") // "It wasn't surprising ." */
export function tokenize13a(line: string): string {
  let text = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  text = text.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  text = ` ${text} `;
  for (const [pattern, replacement] of TOKENIZER_13A_RULES) text = text.replace(pattern, replacement);
  return splitWhitespace(text).join(' ');
}

function splitWhitespace(text: string): string[] {
  return text.split(/\s+/).filter((token) => token !== '');
}

function preprocess(text: string, options: BleuOptions): string[] {
  let line = text.replace(/\s+$/, ''); // sacreBLEU: sent.rstrip()
  if (options.lowercase) line = line.toLowerCase();
  return splitWhitespace((options.tokenize ?? '13a') === '13a' ? tokenize13a(line) : line);
}

/** n-gram (joined by U+0001, which no token holds) → count, for n = 1 … maxOrder. */
function ngramCounts(tokens: readonly string[], maxOrder: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxOrder; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = `${n}\u0001${tokens.slice(i, i + n).join('\u0001')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** The reference length closest to the hypothesis length; the shorter on a tie (sacreBLEU's `_get_closest_ref_len`). */
function closestReferenceLength(hypothesisLength: number, referenceLengths: readonly number[]): number {
  let closestDiff = -1;
  let closest = -1;
  for (const length of referenceLengths) {
    const diff = Math.abs(hypothesisLength - length);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closest = length;
    } else if (diff === closestDiff && length < closest) {
      closest = length;
    }
  }
  return closest;
}

/** Sufficient statistics of one segment: [sys_len, ref_len, correct_1…N, total_1…N]. */
function segmentStatistics(hypothesis: string, references: readonly string[], options: BleuOptions): number[] {
  const maxOrder = options.maxNgramOrder ?? 4;
  const referenceCounts = new Map<string, number>();
  const referenceLengths: number[] = [];
  for (const reference of references) {
    const tokens = preprocess(reference, options);
    referenceLengths.push(tokens.length);
    for (const [ngram, count] of ngramCounts(tokens, maxOrder)) referenceCounts.set(ngram, Math.max(referenceCounts.get(ngram) ?? 0, count));
  }
  const hypothesisTokens = preprocess(hypothesis, options);
  const correct = new Array<number>(maxOrder).fill(0);
  const total = new Array<number>(maxOrder).fill(0);
  for (const [ngram, count] of ngramCounts(hypothesisTokens, maxOrder)) {
    const n = Number(ngram.slice(0, ngram.indexOf('\u0001'))) - 1;
    total[n] += count;
    correct[n] += Math.min(count, referenceCounts.get(ngram) ?? 0);
  }
  return [hypothesisTokens.length, closestReferenceLength(hypothesisTokens.length, referenceLengths), ...correct, ...total];
}

/** sacreBLEU's `my_log`: log, with −9999999999 for 0 (so a zero precision zeroes the score without −∞ arithmetic). */
const sacreLog = (value: number): number => (value === 0 ? -9999999999 : Math.log(value));

/** BLEU from summed statistics (sacreBLEU's `compute_bleu`). */
export function computeBleu(correctIn: readonly number[], totalIn: readonly number[], sysLen: number, refLen: number, options: BleuOptions = {}): BleuScore {
  const maxOrder = options.maxNgramOrder ?? 4;
  const method = options.smoothMethod ?? 'exp';
  if (!(method in SMOOTH_DEFAULTS)) throw new QkvValueError(`BLEU: smoothMethod must be one of ${Object.keys(SMOOTH_DEFAULTS).join(', ')}, got ${JSON.stringify(method)}`);
  const smoothValue = options.smoothValue ?? SMOOTH_DEFAULTS[method];
  const correct = [...correctIn];
  const total = [...totalIn];
  const bp = sysLen < refLen ? (sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0) : 1;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = (score: number): BleuScore => ({ score, precisions, counts: correct, totals: total, bp, ratio: refLen > 0 ? sysLen / refLen : 0, sys_len: sysLen, ref_len: refLen });
  if (!correct.some((count) => count > 0)) return result(0);
  let smoothMteval = 1;
  let effectiveOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (method === 'add-k' && n > 1) {
      correct[n - 1] += smoothValue;
      total[n - 1] += smoothValue;
    }
    if (total[n - 1] === 0) break;
    if (options.effectiveOrder) effectiveOrder = n;
    if (correct[n - 1] === 0) {
      if (method === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (method === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let n = 0; n < effectiveOrder; n++) logSum += sacreLog(precisions[n]);
  return result(bp * Math.exp(logSum / effectiveOrder));
}

/**
 * Corpus BLEU of `hypotheses` against one or more reference streams (`references[k][i]`).
 *
 * @example
 * sacreBleuCorpus(['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'], [refs1, refs2]).score // 48.53 (sacreBLEU README)
 */
export function sacreBleuCorpus(hypotheses: readonly string[], references: readonly (readonly (string | null)[])[], options: BleuOptions = {}): BleuScore {
  if (references.length === 0) throw new QkvValueError('BLEU: no reference streams given');
  for (const [k, stream] of references.entries()) {
    if (stream.length !== hypotheses.length) {
      throw new QkvValueError(`BLEU: reference stream ${k + 1} has ${stream.length} segments but there are ${hypotheses.length} hypotheses (one line per segment)`);
    }
  }
  const maxOrder = options.maxNgramOrder ?? 4;
  const sums = new Array<number>(2 + 2 * maxOrder).fill(0);
  for (const [i, hypothesis] of hypotheses.entries()) {
    const segmentReferences = references.map((stream) => stream[i]).filter((reference): reference is string => reference !== null && reference !== '');
    if (segmentReferences.length === 0) throw new QkvValueError(`BLEU: segment ${i + 1} has no reference`);
    segmentStatistics(hypothesis, segmentReferences, options).forEach((value, j) => (sums[j] += value));
  }
  return computeBleu(sums.slice(2, 2 + maxOrder), sums.slice(2 + maxOrder), sums[0], sums[1], options);
}

/** Sentence BLEU with sacreBLEU's `sentence_bleu` defaults ('exp' smoothing, effective order). @example sentenceBleu('the cat', ['the cat sat']).score */
export function sentenceBleu(hypothesis: string, references: readonly string[], options: BleuOptions = {}): BleuScore {
  return sacreBleuCorpus([hypothesis], references.map((reference) => [reference]), { effectiveOrder: true, ...options });
}

/** sacreBLEU's printed line: `BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)`. */
export function formatBleu(score: BleuScore): string {
  const precisions = score.precisions.map((p) => p.toFixed(1)).join('/');
  return `BLEU = ${score.score.toFixed(2)} ${precisions} (BP = ${score.bp.toFixed(3)} ratio = ${score.ratio.toFixed(3)} hyp_len = ${score.sys_len} ref_len = ${score.ref_len})`;
}
