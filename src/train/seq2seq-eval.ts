/**
 * Text in, text out: translating with a trained encoder–decoder (greedy or beam search) and
 * scoring it on pairs with the metrics people report (BLEU as sacreBLEU, ROUGE-L as rouge-score,
 * exact match, token accuracy).
 */
import { sacreBleuCorpus } from '../eval/bleu.ts';
import { exactMatch, tokenAccuracy } from '../eval/exact-match.ts';
import { rougeCorpus } from '../eval/rouge.ts';
import { beamSearch, greedyDecode, type BeamSearchOptions, type Hypothesis, type Seq2SeqDecodable } from '../generate/beam.ts';
import type { Seq2SeqModel } from '../models/transformer-folder.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { encodeSources } from './seq2seq-data.ts';
import type { Seq2SeqPair } from './seq2seq-tasks.ts';

export interface TranslateOptions extends BeamSearchOptions {
  /** Sources decoded together (default 64). */
  batchSize?: number;
  /** Called after each batch with the number of sources done. */
  onProgress?(done: number, total: number): void;
}

/** Decodes token ids (without specials) back to text. */
function decodeText(tokenizer: Tokenizer, ids: readonly number[]): string {
  return tokenizer.decode([...ids], { skipSpecialTokens: true });
}

/**
 * n-best translations per source (`numBeams` 1 without `numReturnSequences`: greedy decoding).
 *
 * @example const [[best]] = translateNBest(model, tokenizer, ['3rd of March, 2021'], { numBeams: 4 }); // best.text "2021-03-03"
 */
export function translateNBest(model: Seq2SeqModel, tokenizer: Tokenizer, sources: readonly string[], options: TranslateOptions = {}): (Hypothesis & { text: string })[][] {
  const batchSize = options.batchSize ?? 64;
  const decodable: Seq2SeqDecodable<unknown> = model; // each class's own state type; the decoders only pass it back
  const out: (Hypothesis & { text: string })[][] = [];
  for (let start = 0; start < sources.length; start += batchSize) {
    const ids = encodeSources(tokenizer, sources.slice(start, start + batchSize));
    if ((options.numBeams ?? 1) === 1) {
      for (const tokens of greedyDecode(decodable, ids, options)) out.push([{ tokens, text: decodeText(tokenizer, tokens), score: NaN, logProbability: NaN, finished: true }]);
    } else {
      for (const hypotheses of beamSearch(decodable, ids, options)) out.push(hypotheses.map((h) => ({ ...h, text: decodeText(tokenizer, h.tokens) })));
    }
    options.onProgress?.(Math.min(start + batchSize, sources.length), sources.length);
  }
  return out;
}

/** The best translation of each source. @example translate(model, tokenizer, ['March 3, 2021']) // ['2021-03-03'] */
export function translate(model: Seq2SeqModel, tokenizer: Tokenizer, sources: readonly string[], options: TranslateOptions = {}): string[] {
  return translateNBest(model, tokenizer, sources, { ...options, numReturnSequences: 1 }).map((hypotheses) => hypotheses[0]?.text ?? '');
}

export interface Seq2SeqScores {
  /** sacreBLEU corpus BLEU, 0–100. */
  bleu: number;
  /** rouge-score ROUGE-L F-measure averaged over segments, 0–1. */
  rougeL: number;
  /** Fraction of exact matches, 0–1. */
  exactMatch: number;
  /** Position-wise character agreement, 0–1. */
  tokenAccuracy: number;
  segments: number;
}

/** Scores the model's translations of `pairs`; also returns them. */
export function evaluateSeq2Seq(model: Seq2SeqModel, tokenizer: Tokenizer, pairs: readonly Seq2SeqPair[], options: TranslateOptions = {}): Seq2SeqScores & { hypotheses: string[] } {
  const hypotheses = translate(model, tokenizer, pairs.map((pair) => pair.source), options);
  const references = pairs.map((pair) => pair.target);
  return {
    bleu: sacreBleuCorpus(hypotheses, [references]).score,
    rougeL: rougeCorpus(hypotheses, references).rougeL.fmeasure,
    exactMatch: exactMatch(hypotheses, references),
    tokenAccuracy: tokenAccuracy(hypotheses.map((text) => [...text]), references.map((text) => [...text])),
    segments: pairs.length,
    hypotheses,
  };
}
