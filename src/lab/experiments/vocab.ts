/**
 * `qkv lab vocab`: why subword vocabularies (WordPiece, byte-level BPE) and not words or
 * characters.
 *
 * Each tokenizer is trained on the same Brown lines (src/tokenizers' trainers) and measured
 * on held-out Brown lines from other documents: vocabulary size, out-of-vocabulary rate (the
 * share of held-out words a word vocabulary lacks, or that a tokenizer can only encode with
 * its unknown token), tokens per word (sequence length cost) and UTF-8 bytes per token.
 * Words are the units of BERT-style pre-tokenisation (runs of letters/digits, or one
 * punctuation mark), lower-cased to match the uncased WordPiece.
 */
import { bytesPerToken, outOfVocabularyRate, wordLevelVocabulary } from '../../tokenizers/stats.ts';
import { trainBpe } from '../../tokenizers/bpe-trainer.ts';
import { trainCharTokenizer } from '../../tokenizers/char.ts';
import { trainWordPiece } from '../../tokenizers/wordpiece-trainer.ts';
import type { Tokenizer } from '../../tokenizers/tokenizer.ts';
import { numberParam, type Experiment, type ExperimentResult } from '../experiment.ts';
import { brownSplit } from './brown-text.ts';

/** Lower-cased words and punctuation marks, as BERT's basic pre-tokeniser splits them. */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+|[^\p{L}\p{N}\s]/gu) ?? [];
}

export interface VocabMeasure {
  name: string;
  vocabSize: number;
  oovRate: number;
  tokensPerWord: number;
  bytesPerToken: number;
}

/**
 * Share of the held-out words (occurrences) the tokenizer can only encode with its unknown
 * token. Measured word by word on the same split for every tokenizer (`unknownWordRate` uses
 * the tokenizer's own pre-tokeniser, and the character tokenizer has none).
 */
export function unknownRateOverWords(tokenizer: Tokenizer, words: readonly string[]): number {
  const unk = tokenizer.model.unkToken;
  const unkId = unk === null ? undefined : tokenizer.tokenToId(unk);
  if (unkId === undefined || words.length === 0) return 0;
  const verdict = new Map<string, boolean>();
  let unknown = 0;
  for (const word of words) {
    let hasUnknown = verdict.get(word);
    if (hasUnknown === undefined) {
      hasUnknown = tokenizer.encodeIds(word).includes(unkId);
      verdict.set(word, hasUnknown);
    }
    if (hasUnknown) unknown++;
  }
  return unknown / words.length;
}

function measureTokenizer(name: string, tokenizer: Tokenizer, heldOut: string, words: readonly string[]): VocabMeasure {
  return {
    name,
    vocabSize: tokenizer.vocabSize,
    oovRate: unknownRateOverWords(tokenizer, words),
    tokensPerWord: tokenizer.encodeIds(heldOut).length / words.length,
    bytesPerToken: bytesPerToken(tokenizer, heldOut),
  };
}

export const vocabExperiment: Experiment = {
  name: 'vocab',
  description: 'word vs WordPiece vs byte-level BPE vs characters on held-out Brown text: vocabulary size, OOV rate, tokens per word',
  params: [
    { name: 'train-lines', description: 'Brown lines to train on', default: 4000, quick: 600 },
    { name: 'held-out-lines', description: 'held-out Brown lines (other documents)', default: 1000, quick: 200 },
    { name: 'vocab-size', description: 'vocabulary size of the word, WordPiece and BPE vocabularies', default: 4000, quick: 1000 },
  ],
  run(params, { onProgress }): ExperimentResult {
    const { train, heldOut } = brownSplit({ trainLines: numberParam(params, 'train-lines'), heldOutLines: numberParam(params, 'held-out-lines') });
    const size = numberParam(params, 'vocab-size');
    const heldOutText = heldOut.join('\n');
    const heldOutWords = splitWords(heldOutText);
    const trainWords = train.flatMap(splitWords);
    const measures: VocabMeasure[] = [];
    const wordVocabulary = (n: number) => wordLevelVocabulary(trainWords, n);
    const allWords = wordVocabulary(Infinity);
    for (const [name, vocabulary] of [[`word (top ${size})`, wordVocabulary(size)], ['word (every training word)', allWords]] as const) {
      // An in-vocabulary word is one token; an OOV one is one <unk>.
      measures.push({ name, vocabSize: vocabulary.size + 1, oovRate: outOfVocabularyRate(heldOutWords, vocabulary), tokensPerWord: 1, bytesPerToken: Buffer.byteLength(heldOutText, 'utf8') / heldOutWords.length });
    }
    onProgress(1, 4, { tokenizer: 'word' });
    measures.push(measureTokenizer(`WordPiece ${size}`, trainWordPiece(train, { vocabSize: size }), heldOutText, heldOutWords));
    onProgress(2, 4, { tokenizer: 'wordpiece' });
    measures.push(measureTokenizer(`byte-level BPE ${size}`, trainBpe(train, { vocabSize: size }), heldOutText, heldOutWords));
    onProgress(3, 4, { tokenizer: 'bpe' });
    measures.push(measureTokenizer('characters', trainCharTokenizer(train), heldOutText, heldOutWords));
    onProgress(4, 4, { tokenizer: 'char' });
    const word = measures[0];
    const bpe = measures[3];
    return {
      columns: ['vocabulary', 'size', 'held-out OOV rate', 'tokens per word', 'bytes per token'],
      rows: measures.map((m) => [m.name, m.vocabSize, m.oovRate, m.tokensPerWord, m.bytesPerToken]),
      plot: {
        title: 'held-out OOV rate and tokens per word', xLabel: 'vocabulary', yLabel: 'value', kind: 'bar', categories: measures.map((m) => m.name.split(' (')[0].replace(/ \d+$/, '')),
        series: [
          { name: 'OOV rate × 10', points: measures.map((m, i) => [i, 10 * m.oovRate]) },
          { name: 'tokens per word', points: measures.map((m, i) => [i, m.tokensPerWord]) },
        ],
      },
      findings: [
        `A ${size}-word vocabulary misses ${(100 * word.oovRate).toFixed(1)}% of held-out words; even every training word (${allWords.size}) misses ${(100 * measures[1].oovRate).toFixed(1)}%.`,
        `Byte-level BPE with ${size} tokens has OOV ${(100 * bpe.oovRate).toFixed(1)}% at ${bpe.tokensPerWord.toFixed(2)} tokens per word; characters need ${measures[4].tokensPerWord.toFixed(2)}.`,
      ],
    };
  },
};
