/**
 * Truncation and padding, applied by the pipeline (`tokenizer.ts`) around the post-processor:
 * truncate the sequences so that, with the special tokens, they fit `maxLength`; then pad to a
 * fixed length or to the longest of a batch, with attention mask 0 on the padding.
 * Reference: Hugging Face tokenizers' `TruncationParams` and `PaddingParams`.
 */
import type { TokenSequence } from './post-processor.ts';
import type { Encoding } from './tokenizer.ts';

export interface TruncationOptions {
  maxLength: number;
  /** Which sequence of a pair loses tokens: the longer one first (default), or only one. */
  strategy?: 'longest_first' | 'only_first' | 'only_second';
  /** Drop tokens from the end (default) or from the start. */
  direction?: 'right' | 'left';
}

export interface PaddingOptions {
  /** Pad every encoding to this length; without it, a batch pads to its longest member. */
  length?: number;
  /** Round the padded length up to a multiple of this. */
  padToMultipleOf?: number;
  padId?: number;
  padTypeId?: number;
  padToken?: string;
  direction?: 'right' | 'left';
}

/** Padding as the tokenizer holds it: every field resolved except the optional lengths. */
export type PaddingSettings = Required<Omit<PaddingOptions, 'length' | 'padToMultipleOf'>> & { length?: number; padToMultipleOf?: number };

/** Cut a (and b) so that together they have at most room tokens. */
export function truncatePair(a: TokenSequence, b: TokenSequence | null, room: number, options: Required<TruncationOptions>): void {
  const cut = (sequence: TokenSequence, keep: number) => {
    if (sequence.ids.length <= keep) return;
    const from = options.direction === 'right' ? 0 : sequence.ids.length - keep;
    sequence.ids = sequence.ids.slice(from, from + keep);
    sequence.tokens = sequence.tokens.slice(from, from + keep);
  };
  if (b === null) return cut(a, room);
  const total = a.ids.length + b.ids.length;
  if (total <= room) return;
  if (options.strategy === 'only_first') return cut(a, Math.max(0, room - b.ids.length));
  if (options.strategy === 'only_second') return cut(b, Math.max(0, room - a.ids.length));
  // longest_first: take tokens from the longer sequence one at a time.
  let lengthA = a.ids.length;
  let lengthB = b.ids.length;
  while (lengthA + lengthB > room) {
    if (lengthA > lengthB) lengthA--;
    else lengthB--;
  }
  cut(a, lengthA);
  cut(b, lengthB);
}

/** Pad encoding in place to length (rounded up to padToMultipleOf); longer encodings are left as they are. */
export function padEncoding(encoding: Encoding, length: number, padding: PaddingSettings): void {
  const multiple = padding.padToMultipleOf;
  if (multiple !== undefined && multiple > 0) length = Math.ceil(length / multiple) * multiple;
  const count = length - encoding.ids.length;
  if (count <= 0) return;
  const add = (array: (number | string)[], value: number | string) => {
    const fill = new Array(count).fill(value);
    if (padding.direction === 'right') array.push(...fill);
    else array.unshift(...fill);
  };
  add(encoding.ids, padding.padId);
  add(encoding.tokens, padding.padToken);
  add(encoding.typeIds, padding.padTypeId);
  add(encoding.attentionMask, 0);
  add(encoding.specialTokensMask, 1);
}
