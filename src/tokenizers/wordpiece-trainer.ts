/**
 * Training a WordPiece vocabulary (BERT). Words are split into characters, written `c` at the
 * start of a word and `##c` inside it; then, until the target size, the best pair is merged
 * (`un` + `##able` → `unable`, `##a` + `##ble` → `##able`). "Best" is either the most frequent
 * pair (Hugging Face's WordPieceTrainer, the default) or the one of highest likelihood score
 *
 *     score(a, b) = count(ab) / (count(a) · count(b))
 *
 * which favours pairs whose parts are rarely seen apart (Schuster & Nakajima 2012, as the
 * Hugging Face course describes WordPiece). Counts are updated incrementally; frequency uses
 * a heap, likelihood scans the current pair counts once per merge.
 */
import { QkvValueError } from '../tensor/errors.ts';
import { WordPieceDecoder } from './decoder.ts';
import { PairHeap } from './bpe-trainer.ts';
import { BertNormalizer } from './normalizer.ts';
import { countWords, pairLeft, pairRight, WordPairCounts } from './pair-counts.ts';
import { TemplateProcessing } from './post-processor.ts';
import { BertPreTokenizer } from './pretokenize.ts';
import { Tokenizer } from './tokenizer.ts';
import { WordPieceModel } from './wordpiece.ts';

/** BERT's special tokens, in BERT's order: ids 0–4. */
export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export interface WordPieceTrainerOptions {
  /** Final vocabulary size, special tokens and alphabet included. */
  vocabSize: number;
  /** A pair seen fewer times than this is never merged. Default 2. */
  minFrequency?: number;
  /** Default BERT's five. `[UNK]`, `[CLS]` and `[SEP]` must be among them. */
  specialTokens?: readonly string[];
  /** Lower-case and strip accents (uncased BERT). Default true. */
  lowercase?: boolean;
  /** Keep only the this many most frequent characters in the alphabet; the rest become [UNK]. */
  limitAlphabet?: number;
  /**
   * How the next pair is chosen. `frequency` (default) is the most frequent pair, which is what
   * Hugging Face's WordPieceTrainer does (it trains a BPE with `##` continuations); `likelihood`
   * is WordPiece's count(ab)/(count(a)·count(b)). On 200 KB of English at 3000 tokens,
   * likelihood leaves common words split (`th ##e`): it prefers rare pairs of rare parts.
   */
  scoring?: 'likelihood' | 'frequency';
  /** Called after each merge with (merges done, merges wanted). */
  onProgress?: (done: number, total: number) => void;
}

const PREFIX = '##';

/** Train a BERT-style WordPiece tokenizer on texts. */
export function trainWordPiece(texts: Iterable<string>, options: WordPieceTrainerOptions): Tokenizer {
  const specialTokens = options.specialTokens ?? BERT_SPECIAL_TOKENS;
  for (const required of ['[UNK]', '[CLS]', '[SEP]']) {
    if (!specialTokens.includes(required)) throw new QkvValueError(`trainWordPiece: specialTokens must include ${required}, got ${JSON.stringify(specialTokens)}`);
  }
  const minFrequency = options.minFrequency ?? 2;
  const normalizer = new BertNormalizer({ lowercase: options.lowercase ?? true });
  const preTokenizer = new BertPreTokenizer();
  const addedTokens = specialTokens.map((content, id) => ({ id, content, special: true }));
  const splitter = new Tokenizer({ model: placeholderModel(), normalizer, preTokenizer, addedTokens });
  const wordCounts = new Map<string, number>();
  for (const text of texts) countWords(splitter.preTokenize(text), wordCounts);

  // The alphabet: every character as a word start and, where seen, as a continuation.
  const charCounts = new Map<string, number>();
  for (const [word, count] of wordCounts) for (const ch of word) charCounts.set(ch, (charCounts.get(ch) ?? 0) + count);
  let keptChars = [...charCounts.keys()];
  if (options.limitAlphabet !== undefined) keptChars = keptChars.sort((a, b) => charCounts.get(b)! - charCounts.get(a)!).slice(0, options.limitAlphabet);
  const kept = new Set(keptChars);
  const alphabet = new Set<string>();
  for (const word of wordCounts.keys()) {
    [...word].forEach((ch, i) => {
      if (kept.has(ch)) alphabet.add(i === 0 ? ch : PREFIX + ch);
    });
  }
  const tokens: string[] = [...specialTokens, ...[...alphabet].sort()];
  if (options.vocabSize < tokens.length) {
    throw new QkvValueError(`trainWordPiece: vocabSize ${options.vocabSize} is smaller than the special tokens and alphabet (${tokens.length})`);
  }
  const vocab = new Map<string, number>(tokens.map((token, id) => [token, id]));

  // Words with a character outside the alphabet can never be covered: leave them out.
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    const chars = [...word];
    if (!chars.every((ch) => kept.has(ch))) continue;
    words.push(chars.map((ch, i) => vocab.get(i === 0 ? ch : PREFIX + ch)!));
    counts.push(count);
  }
  const stats = new WordPairCounts(words, counts);

  const wanted = options.vocabSize - tokens.length;
  const scoring = options.scoring ?? 'frequency';
  const heap = new PairHeap();
  if (scoring === 'frequency') for (const [key, count] of stats.pairCounts) heap.push(count, key);
  let done = 0;
  while (tokens.length < options.vocabSize) {
    const bestKey = scoring === 'frequency' ? mostFrequentPair(stats, heap, minFrequency) : mostLikelyPair(stats, minFrequency);
    if (bestKey < 0) break;
    const left = tokens[pairLeft(bestKey)];
    const right = tokens[pairRight(bestKey)];
    const merged = left + right.slice(PREFIX.length);
    let mergedId = vocab.get(merged);
    if (mergedId === undefined) {
      mergedId = tokens.length;
      tokens.push(merged);
      vocab.set(merged, mergedId);
    }
    const grown = stats.merge(pairLeft(bestKey), pairRight(bestKey), mergedId);
    if (scoring === 'frequency') for (const key of grown) heap.push(stats.pairCounts.get(key) ?? 0, key);
    options.onProgress?.(++done, wanted);
  }
  options.onProgress?.(wanted, wanted);

  return new Tokenizer({
    model: new WordPieceModel({ vocab, unkToken: '[UNK]', continuingSubwordPrefix: PREFIX }),
    normalizer,
    preTokenizer,
    postProcessor: TemplateProcessing.bert(vocab.get('[CLS]')!, vocab.get('[SEP]')!),
    decoder: new WordPieceDecoder(PREFIX, true),
    addedTokens,
  });
}

/** The pair of highest count(ab)/(count(a)·count(b)); ties: higher count, then smaller ids. -1 if none. */
function mostLikelyPair(stats: WordPairCounts, minFrequency: number): number {
  let bestKey = -1;
  let bestScore = -1;
  let bestCount = 0;
  for (const [key, count] of stats.pairCounts) {
    if (count < minFrequency) continue;
    const score = count / (stats.symbolCounts.get(pairLeft(key))! * stats.symbolCounts.get(pairRight(key))!);
    if (score > bestScore || (score === bestScore && (count > bestCount || (count === bestCount && key < bestKey)))) {
      bestKey = key;
      bestScore = score;
      bestCount = count;
    }
  }
  return bestKey;
}

/** The most frequent pair (from a heap whose stale entries are requeued). -1 if none. */
function mostFrequentPair(stats: WordPairCounts, heap: PairHeap, minFrequency: number): number {
  while (heap.size > 0) {
    const top = heap.pop();
    const count = stats.pairCounts.get(top.key) ?? 0;
    if (count !== top.count) {
      if (count > 0) heap.push(count, top.key);
      continue;
    }
    return count >= minFrequency ? top.key : -1;
  }
  return -1;
}

/** The splitter above only pre-tokenises; it never reaches a model. */
function placeholderModel(): WordPieceModel {
  return new WordPieceModel({ vocab: new Map([['[UNK]', 0]]) });
}
