/**
 * Seq2seq batches for teacher forcing: source ids padded with `<pad>` and labels padded with −100,
 * each ending in `</s>`, as Hugging Face's seq2seq collators build them. The decoder input is
 * the labels shifted right behind the start token, made inside the model (`shiftTokensRight`),
 * so a batch is just (ids, targets) and the ordinary trainer runs it.
 *
 * Legend: B = batch, S = longest source in the batch (+1 for `</s>`), T = longest target (+1).
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import { charTokenizerFromAlphabet } from '../tokenizers/char.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import type { Batch } from './data.ts';
import type { Seq2SeqPair } from './seq2seq-tasks.ts';

/** Special tokens of a seq2seq vocabulary, ids 0, 1, 2 (then `<unk>` at 3). */
export const SEQ2SEQ_SPECIAL_TOKENS = { pad: '<pad>', bos: '<s>', eos: '</s>', unk: '<unk>' } as const;

export interface SpecialTokenIds {
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
}

/** A character tokenizer over every character of the pairs, with `<pad>` `<s>` `</s>` `<unk>` first. */
export function seq2seqCharTokenizer(pairs: Iterable<Seq2SeqPair>): Tokenizer {
  const alphabet = new Set<string>();
  for (const { source, target } of pairs) for (const ch of source + target) alphabet.add(ch);
  const { pad, bos, eos, unk } = SEQ2SEQ_SPECIAL_TOKENS;
  return charTokenizerFromAlphabet([...alphabet], { specialTokens: [pad, bos, eos], unkToken: unk });
}

/** The special ids of a tokenizer built by `seq2seqCharTokenizer` (or any with those tokens). */
export function specialTokenIds(tokenizer: Tokenizer): SpecialTokenIds {
  const id = (token: string): number => {
    const value = tokenizer.tokenToId(token);
    if (value === undefined) throw new QkvValueError(`seq2seq tokenizer has no ${token} token`);
    return value;
  };
  return { pad_token_id: id(SEQ2SEQ_SPECIAL_TOKENS.pad), bos_token_id: id(SEQ2SEQ_SPECIAL_TOKENS.bos), eos_token_id: id(SEQ2SEQ_SPECIAL_TOKENS.eos) };
}

/** Rows of ids, each followed by `end`, padded to the longest with `padValue`: (B, L). */
function padRows(rows: number[][], end: number, padValue: number): Tensor {
  const length = Math.max(...rows.map((row) => row.length)) + 1;
  const data = new Float32Array(rows.length * length).fill(padValue);
  rows.forEach((row, b) => {
    data.set(row, b * length);
    data[b * length + row.length] = end;
  });
  return new Tensor(data, [rows.length, length]);
}

/** Source texts → (B, S) ids ending in `</s>`, padded with `<pad>`. @example encodeSources(tokenizer, ['3 March 2021']) */
export function encodeSources(tokenizer: Tokenizer, sources: readonly string[]): Tensor {
  const { pad_token_id, eos_token_id } = specialTokenIds(tokenizer);
  return padRows(sources.map((text) => tokenizer.encodeIds(text)), eos_token_id, pad_token_id);
}

/** Target texts → (B, T) labels ending in `</s>`, padded with −100 (ignored by the loss). */
export function encodeLabels(tokenizer: Tokenizer, targets: readonly string[]): Tensor {
  const { eos_token_id } = specialTokenIds(tokenizer);
  return padRows(targets.map((text) => tokenizer.encodeIds(text)), eos_token_id, -100);
}

/** Training and held-out pairs, sampled into (ids, targets) batches for `trainLanguageModel`. */
export class Seq2SeqDataset {
  constructor(readonly tokenizer: Tokenizer, readonly train: readonly Seq2SeqPair[], readonly validation: readonly Seq2SeqPair[]) {
    if (train.length === 0) throw new QkvValueError('Seq2SeqDataset: no training pairs');
    if (validation.length === 0) throw new QkvValueError('Seq2SeqDataset: no validation pairs');
  }

  /** B random pairs of the split; blockSize is unused (each batch is as long as its longest pair). */
  sampleBatch(split: 'train' | 'validation', batchSize: number, _blockSize: number, rng: Rng): Batch {
    const pairs = split === 'train' ? this.train : this.validation;
    const chosen = Array.from({ length: batchSize }, () => pairs[rng.randint(pairs.length)]);
    return {
      ids: encodeSources(this.tokenizer, chosen.map((pair) => pair.source)),
      targets: encodeLabels(this.tokenizer, chosen.map((pair) => pair.target)),
    };
  }
}
