/**
 * BERT pre-training data: documents → sentence-pair examples for masked-LM and next-sentence
 * prediction, sampled into the batches `trainLanguageModel` (src/train/trainer.ts) trains on.
 *
 * As Google's `create_pretraining_data.py`: segment A is a run of consecutive sentences of a
 * document; with probability 1/2 segment B is the sentences that follow (label 0, IsNext), otherwise
 * a run from another random document (label 1, NotNext). The pair is cut (longest first) to fit
 * [CLS] A [SEP] B [SEP] in the block, padded with [PAD] (attention mask 0), then masked (mlm-masking.ts).
 * Without NSP a sample is one run of sentences, [CLS] A [SEP].
 *
 * Legend: B = batch, T = block (tokens per example).
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { IGNORE_INDEX, maskTokens, resolveMaskingOptions, type MaskingOptions, type MaskingVocabulary } from './mlm-masking.ts';

export { IGNORE_INDEX, maskTokens, type MaskingOptions, type MaskingVocabulary } from './mlm-masking.ts';

/** A batch for BertForPreTraining / BertForMaskedLM: ids and MLM labels, plus what the forward also takes. */
export interface PretrainingBatch {
  /** (B, T) corrupted input ids. */
  ids: Tensor;
  /** (B, T) original ids at chosen positions, -100 elsewhere. */
  targets: Tensor;
  forwardOptions: { attentionMask: Tensor; tokenTypeIds: Tensor; nextSentenceLabels?: Tensor; gatherTargets: boolean };
}

export interface PretrainingDataOptions extends MaskingOptions {
  /** Sample sentence pairs with NSP labels (default true); false gives single segments for MLM only. */
  nextSentencePrediction?: boolean;
  /** Share of documents held out for validation (the last ones; default 0.1, at least one). */
  validationFraction?: number;
}

/** The masking vocabulary of a BERT tokenizer: [MASK], the special ids, `##` continuations. */
export function maskingVocabulary(tokenizer: Tokenizer): MaskingVocabulary {
  const maskId = tokenizer.tokenToId('[MASK]');
  if (maskId === undefined) throw new QkvValueError('pre-training: the tokenizer has no [MASK] token (train a WordPiece tokenizer with BERT\'s special tokens)');
  const specialIds = new Set(tokenizer.addedTokens.filter((token) => token.special).map((token) => token.id));
  const continuation = new Uint8Array(tokenizer.vocabSize);
  const randomIds: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    if (specialIds.has(id)) continue;
    randomIds.push(id);
    if (tokenizer.idToToken(id)?.startsWith('##')) continuation[id] = 1;
  }
  return { maskId, specialIds, randomIds, isContinuation: (id) => continuation[id] === 1 };
}

/** Splits text into documents (blank lines between them) and sentences (after . ! ? and line ends). */
export function splitDocuments(text: string): string[][] {
  return text
    .split(/\n\s*\n/)
    .map((document) => document.split(/(?<=[.!?])\s+|\n/).map((sentence) => sentence.trim()).filter((sentence) => sentence.length > 0))
    .filter((sentences) => sentences.length > 0);
}

export class PretrainingDataset {
  readonly train: number[][][];
  readonly validation: number[][][];
  readonly nextSentencePrediction: boolean;
  readonly vocabulary: MaskingVocabulary;
  private readonly masking: Required<MaskingOptions>;
  private readonly cls: number;
  private readonly sep: number;
  private readonly pad: number;
  /** Per split, the documents with at least two sentences (the only ones an IsNext pair can come from). */
  private readonly multiSentence = new Map<number[][][], number[]>();

  /** documents: each a list of sentences. Sentences are tokenized once, here. */
  constructor(readonly tokenizer: Tokenizer, documents: readonly (readonly string[])[], options: PretrainingDataOptions = {}) {
    this.nextSentencePrediction = options.nextSentencePrediction ?? true;
    this.masking = resolveMaskingOptions(options);
    this.vocabulary = maskingVocabulary(tokenizer);
    const special = (token: string): number => {
      const id = tokenizer.tokenToId(token);
      if (id === undefined) throw new QkvValueError(`pre-training: the tokenizer has no ${token} token`);
      return id;
    };
    [this.cls, this.sep, this.pad] = [special('[CLS]'), special('[SEP]'), special('[PAD]')];
    const encoded = documents
      .map((sentences) => sentences.map((sentence) => tokenizer.encodeIds(sentence)).filter((ids) => ids.length > 0))
      .filter((sentences) => sentences.length > 0);
    if (encoded.length < 2) throw new QkvValueError(`pre-training: need at least 2 non-empty documents (one is held out), got ${encoded.length}`);
    const fraction = options.validationFraction ?? 0.1;
    if (!(fraction > 0 && fraction < 1)) throw new QkvValueError(`pre-training: validationFraction must be in (0, 1), got ${fraction}`);
    const held = Math.max(1, Math.round(encoded.length * fraction));
    this.train = encoded.slice(0, encoded.length - held);
    this.validation = encoded.slice(encoded.length - held);
    for (const documents of [this.train, this.validation]) {
      this.multiSentence.set(documents, documents.flatMap((document, index) => (document.length >= 2 ? [index] : [])));
    }
  }

  /** Tokens of the training documents (for tokens/s and the report). */
  get trainTokens(): number {
    return this.train.reduce((sum, document) => sum + document.reduce((s, sentence) => s + sentence.length, 0), 0);
  }

  /** Consecutive sentences of `document` from `start`, up to about `budget` tokens (at least one sentence). */
  private run(document: number[][], start: number, budget: number): number[] {
    const out: number[] = [...document[start]];
    for (let i = start + 1; i < document.length && out.length + document[i].length <= budget; i++) out.push(...document[i]);
    return out;
  }

  /** One example's ids, segment ids and NSP label (0 IsNext, 1 NotNext), before masking and padding. */
  samplePair(documents: number[][][], blockSize: number, rng: Rng): { ids: number[]; typeIds: number[]; nextSentenceLabel: number } {
    if (!this.nextSentencePrediction) {
      const document = documents[rng.randint(documents.length)];
      const a = this.run(document, rng.randint(document.length), blockSize - 2).slice(0, blockSize - 2);
      return { ids: [this.cls, ...a, this.sep], typeIds: new Array(a.length + 2).fill(0), nextSentenceLabel: 0 };
    }
    const room = blockSize - 3;
    // IsNext needs a following sentence, so it draws from the multi-sentence documents: the label
    // stays 50/50 however many one-sentence documents there are.
    const candidates = this.multiSentence.get(documents) ?? [];
    const isNext = rng.uniform() < 0.5 && candidates.length > 0;
    let a: number[];
    let b: number[];
    if (isNext) {
      const document = documents[candidates[rng.randint(candidates.length)]];
      const split = 1 + rng.randint(document.length - 1); // A ends before sentence `split`, B starts there
      const aStart = Math.max(0, split - 1 - rng.randint(Math.min(split, 3)));
      a = this.run(document.slice(0, split), aStart, Math.ceil(room / 2));
      b = this.run(document, split, room);
    } else {
      const docIndex = rng.randint(documents.length);
      const document = documents[docIndex];
      a = this.run(document, rng.randint(document.length), Math.ceil(room / 2));
      let other = rng.randint(documents.length);
      if (documents.length > 1 && other === docIndex) other = (other + 1 + rng.randint(documents.length - 1)) % documents.length;
      const otherDocument = documents[other];
      b = this.run(otherDocument, rng.randint(otherDocument.length), room);
    }
    const label = isNext ? 0 : 1;
    // Cut the longer segment first (Google: from a random end; here from the end, keeping A's end next to B).
    while (a.length + b.length > room) {
      if (a.length > b.length) a = a.slice(1);
      else b = b.slice(0, -1);
    }
    return {
      ids: [this.cls, ...a, this.sep, ...b, this.sep],
      typeIds: [...new Array(a.length + 2).fill(0), ...new Array(b.length + 1).fill(1)],
      nextSentenceLabel: label,
    };
  }

  /** B masked examples of T tokens from the chosen split. */
  sampleBatch(split: 'train' | 'validation', batchSize: number, blockSize: number, rng: Rng): PretrainingBatch {
    if (blockSize < (this.nextSentencePrediction ? 5 : 3)) throw new QkvValueError(`pre-training: blockSize ${blockSize} is too small for [CLS] A [SEP] B [SEP]`);
    const documents = split === 'train' ? this.train : this.validation;
    const T = blockSize;
    const ids = new Float32Array(batchSize * T).fill(this.pad);
    const targets = new Float32Array(batchSize * T).fill(IGNORE_INDEX);
    const attentionMask = new Float32Array(batchSize * T);
    const tokenTypeIds = new Float32Array(batchSize * T);
    const nextSentenceLabels = new Float32Array(batchSize);
    for (let b = 0; b < batchSize; b++) {
      const example = this.samplePair(documents, T, rng);
      const { inputIds, labels } = maskTokens(example.ids, this.vocabulary, rng, this.masking);
      ids.set(inputIds, b * T);
      targets.set(labels, b * T);
      attentionMask.fill(1, b * T, b * T + inputIds.length);
      tokenTypeIds.set(example.typeIds, b * T);
      nextSentenceLabels[b] = example.nextSentenceLabel;
    }
    const shape = [batchSize, T];
    // gatherTargets: MLM logits only at the chosen positions (Google's masked_lm_positions), same loss, ~2× faster.
    const forwardOptions: PretrainingBatch['forwardOptions'] = { attentionMask: new Tensor(attentionMask, shape), tokenTypeIds: new Tensor(tokenTypeIds, shape), gatherTargets: true };
    if (this.nextSentencePrediction) forwardOptions.nextSentenceLabels = new Tensor(nextSentenceLabels, [batchSize]);
    return { ids: new Tensor(ids, shape), targets: new Tensor(targets, shape), forwardOptions };
  }
}
