/**
 * Language-model data: text → token ids → random (B, T) training windows and a held-out split.
 *
 * As in nanoGPT, the token stream is one long array; a batch is B windows of T + 1 tokens at
 * random offsets, inputs = window[0..T), targets = window[1..T]. Offsets come from the trainer's
 * seeded Rng, so the data position of a run is just that Rng's state (saved in checkpoints).
 */
import { readFileSync } from 'node:fs';
import { QkvValueError } from '../tensor/errors.ts';
import type { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';

export interface Batch {
  /** (B, T) input ids. */
  ids: Tensor;
  /** (B, T) next-token targets. */
  targets: Tensor;
}

/** Reads and concatenates text files (a blank line between them); errors name the file. */
export function readTextFiles(paths: readonly string[]): string {
  if (paths.length === 0) throw new QkvValueError('readTextFiles: no data files given');
  return paths
    .map((path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        throw new QkvValueError(`cannot read data file ${path}: ${(error as Error).message}`);
      }
    })
    .join('\n\n');
}

export class TokenDataset {
  readonly train: Int32Array;
  readonly validation: Int32Array;

  /**
   * Splits `tokens` into a training part and the last `validationFraction` held out (a
   * contiguous tail, so no window straddles the two).
   */
  constructor(tokens: ArrayLike<number>, validationFraction = 0.1) {
    if (!(validationFraction >= 0 && validationFraction < 1)) {
      throw new QkvValueError(`TokenDataset: validationFraction must be in [0, 1), got ${validationFraction}`);
    }
    const all = Int32Array.from(tokens);
    const split = Math.floor(all.length * (1 - validationFraction));
    this.train = all.subarray(0, split);
    this.validation = all.subarray(split);
  }

  /** B random windows of T tokens from the chosen split. */
  sampleBatch(split: 'train' | 'validation', batchSize: number, blockSize: number, rng: Rng): Batch {
    const tokens = split === 'train' ? this.train : this.validation;
    if (tokens.length < blockSize + 1) {
      throw new QkvValueError(`TokenDataset: the ${split} split has ${tokens.length} tokens, fewer than block size + 1 = ${blockSize + 1}`);
    }
    const ids = new Float32Array(batchSize * blockSize);
    const targets = new Float32Array(batchSize * blockSize);
    for (let b = 0; b < batchSize; b++) {
      const start = rng.randint(tokens.length - blockSize);
      for (let t = 0; t < blockSize; t++) {
        ids[b * blockSize + t] = tokens[start + t];
        targets[b * blockSize + t] = tokens[start + t + 1];
      }
    }
    return { ids: new Tensor(ids, [batchSize, blockSize]), targets: new Tensor(targets, [batchSize, blockSize]) };
  }
}

/**
 * Cross-entropy (nats/token) of `heldOut` under the unigram distribution of `train` with add-one
 * smoothing: the loss of a model that ignores context, the baseline a trained LM must beat.
 */
export function unigramCrossEntropy(train: ArrayLike<number>, heldOut: ArrayLike<number>, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1);
  for (let i = 0; i < train.length; i++) counts[train[i]]++;
  const total = train.length + vocabSize;
  let loss = 0;
  for (let i = 0; i < heldOut.length; i++) loss -= Math.log(counts[heldOut[i]] / total);
  return loss / heldOut.length;
}
