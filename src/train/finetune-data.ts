/**
 * Instruction data for fine-tuning: examples (prompt + completion, or a chat) tokenized into
 * ids with a per-token "train on it" flag, and padded (B, T) batches whose targets are the next
 * token where that token is part of a completion and −100 (crossEntropy's ignore-index)
 * everywhere else, so the loss covers completion tokens only, as TRL's `completion_only_loss`.
 *
 * Legend: B = batch, T = longest example in the batch (at most the block size).
 *
 * Right padding is safe for a causal LM without an attention mask: a pad after the last real
 * token is never attended to by the real positions, and its target is ignored.
 *
 * @example
 * const data = ExampleDataset.fromRecords(records, tokenizer, { kind: 'promptCompletion' });
 * const { ids, targets } = data.sampleBatch('train', 8, 64, rng); // (B, T) each
 */
import { chatSegments, type ChatSegment } from '../adapt/chat-template.ts';
import type { ChatRecord, PromptCompletionRecord, TextRecord } from '../adapt/jsonl.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import type { Batch } from './data.ts';

export const IGNORE_INDEX = -100;

/** One tokenized example: ids and, per id, whether the loss covers predicting it. */
export interface TokenizedExample {
  ids: number[];
  trainable: boolean[];
}

/** Tokenizes segments one by one (prompt and completion apart, as TRL does), then the EOS as part of the last trainable segment. */
export function tokenizeSegments(tokenizer: Tokenizer, segments: readonly ChatSegment[], eosId: number | null): TokenizedExample {
  const ids: number[] = [];
  const trainable: boolean[] = [];
  for (const segment of segments) {
    for (const id of tokenizer.encodeIds(segment.text)) {
      ids.push(id);
      trainable.push(segment.trainable);
    }
  }
  // The model learns to stop: an end-of-text after the completion, trained like the completion.
  if (eosId !== null && segments.some((segment) => segment.trainable)) {
    ids.push(eosId);
    trainable.push(true);
  }
  return { ids, trainable };
}

export type InstructionRecord = TextRecord | PromptCompletionRecord | ChatRecord;

/** Prompt/completion or chat records as segments (text records are one trainable segment). */
export function recordSegments(record: InstructionRecord, chatTemplate?: string): ChatSegment[] {
  if ('messages' in record) return chatSegments(record.messages, chatTemplate);
  if ('completion' in record) return [{ text: record.prompt, trainable: false }, { text: record.completion, trainable: true }];
  return [{ text: record.text, trainable: true }];
}

/** Padded (B, T) ids and targets for `examples`, truncated to `blockSize` + 1 tokens. */
export function collateExamples(examples: readonly TokenizedExample[], blockSize: number, padId: number): Batch {
  const lengths = examples.map((example) => Math.min(example.ids.length, blockSize + 1) - 1);
  const T = Math.max(1, ...lengths);
  const B = examples.length;
  const ids = new Float32Array(B * T).fill(padId);
  const targets = new Float32Array(B * T).fill(IGNORE_INDEX);
  examples.forEach((example, b) => {
    for (let t = 0; t < lengths[b]; t++) {
      ids[b * T + t] = example.ids[t];
      if (example.trainable[t + 1]) targets[b * T + t] = example.ids[t + 1]; // predict token t+1 from ≤ t
    }
  });
  return { ids: new Tensor(ids, [B, T]), targets: new Tensor(targets, [B, T]) };
}

export interface ExampleDatasetOptions {
  /** Fraction of examples held out (default 0.1; at least one example each side). */
  validationFraction?: number;
  /** The model folder's chat template (chat records); default: the plain template. */
  chatTemplate?: string;
  /** Shuffles the examples before the split (default 0). */
  seed?: number;
}

/** Tokenized instruction examples, split into train and held-out, sampled as padded batches. */
export class ExampleDataset {
  constructor(
    readonly train: TokenizedExample[],
    readonly validation: TokenizedExample[],
    readonly padId: number,
  ) {
    if (train.length === 0) throw new QkvValueError('ExampleDataset: no training examples');
  }

  static fromRecords(records: readonly InstructionRecord[], tokenizer: Tokenizer, options: ExampleDatasetOptions = {}): ExampleDataset {
    const eos = tokenizer.tokenToId('<|endoftext|>') ?? null;
    const examples = records.map((record) => tokenizeSegments(tokenizer, recordSegments(record, options.chatTemplate), eos));
    const order = examples.map((_, i) => i);
    const rng = new Rng(options.seed ?? 0);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.randint(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const fraction = options.validationFraction ?? 0.1;
    const held = examples.length < 2 || fraction === 0 ? 0 : Math.max(1, Math.round(examples.length * fraction));
    const shuffled = order.map((i) => examples[i]);
    return new ExampleDataset(shuffled.slice(held), shuffled.slice(0, held), eos ?? 0);
  }

  /** B random examples of the split, padded to the longest (at most `blockSize`). */
  sampleBatch(split: 'train' | 'validation', batchSize: number, blockSize: number, rng: Rng): Batch {
    const pool = split === 'train' ? this.train : this.validation;
    if (pool.length === 0) throw new QkvValueError(`ExampleDataset: the ${split} split is empty`);
    const picked = Array.from({ length: batchSize }, () => pool[rng.randint(pool.length)]);
    return collateExamples(picked, blockSize, this.padId);
  }

  /** Every example of the split once, in order, in batches of `batchSize` (a full evaluation). */
  *batches(split: 'train' | 'validation', batchSize: number, blockSize: number): Generator<Batch> {
    const pool = split === 'train' ? this.train : this.validation;
    for (let start = 0; start < pool.length; start += batchSize) yield collateExamples(pool.slice(start, start + batchSize), blockSize, this.padId);
  }

  /** Completion tokens of the split (the loss's denominator). */
  completionTokens(split: 'train' | 'validation'): number {
    const pool = split === 'train' ? this.train : this.validation;
    return pool.reduce((total, example) => total + example.trainable.slice(1).filter(Boolean).length, 0);
  }
}
