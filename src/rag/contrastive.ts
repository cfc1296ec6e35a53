/**
 * Contrastive training of a BERT sentence embedder (in-batch negatives, as in DPR and
 * SimCSE/sentence-transformers' MultipleNegativesRankingLoss).
 *
 * Pairs come from the corpus itself, no labels needed: the anchor is a pseudo-query made from
 * one sentence by the Brown eval's own rewrite (up to 8 content words, at most 40% of them found
 * elsewhere in the document, shuffled; `pairs: 'words'` for any 8 of its words), the positive is the passage around it
 * (the 2 sentences before and the 3 after) with that sentence left out, so the model cannot
 * win by matching words and must learn that the query and the passage are about the same thing.
 * Each batch takes its B pairs from B different documents; every other passage in the batch is
 * a negative for an anchor.
 *
 *   a = normalize(meanPool(bert(anchors)))     (B, C)
 *   p = normalize(meanPool(bert(positives)))   (B, C)
 *   S = a · pᵀ / τ                             (B, B), the diagonal holds the true pairs
 *   loss = ½ (CE(S, arange B) + CE(Sᵀ, arange B))
 *
 * τ = 0.05 (SimCSE's). AdamW with linear warm-up and cosine decay; the global gradient norm is
 * clipped at 1.
 *
 * Legend: B = pairs per batch, T = tokens, C = hidden size.
 *
 * @example
 *   const tokenizer = trainWordPiece(documents, { vocabSize: 6000 });
 *   const model = new BertModel({ vocab_size: tokenizer.vocabSize, max_position_embeddings: 128 });
 *   const summary = trainContrastive({ model, tokenizer, documents, steps: 300 });
 *   saveBert('runs/embedder', model, tokenizer);
 */
import { encodeBertBatch } from '../models/bert-inputs.ts';
import { meanPool, type BertModel } from '../models/bert.ts';
import { AdamW } from '../optim/adam.ts';
import { clipGradNorm } from '../optim/clip.ts';
import { warmupCosineSchedule } from '../optim/schedule.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { QkvValueError } from '../tensor/errors.ts';
import { Rng } from '../tensor/random.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Tokenizer } from '../tokenizers/tokenizer.ts';
import { bm25Terms } from './bm25.ts';
import { rewriteSentenceAsQuery } from './brown-eval.ts';

export interface ContrastivePair {
  anchor: string;
  positive: string;
}

export interface ContrastiveOptions {
  model: BertModel;
  tokenizer: Tokenizer;
  /** Training documents; sentences are split at `.`, `!`, `?` (or taken line by line). */
  documents: readonly string[];
  /** Optimiser steps (default 300). */
  steps?: number;
  /** Pairs per batch, each from another document (default 32). */
  batchSize?: number;
  /** Peak learning rate (default 5e-4). */
  lr?: number;
  /** Softmax temperature τ (default 0.05). */
  temperature?: number;
  /** Tokens per positive passage (default 96); anchors take at most 24. */
  maxLength?: number;
  seed?: number;
  /** How anchors are made: 'eval-like' (default, evalLikePair) or 'words' (pairAround: any 8 words of 3+ letters). */
  pairs?: 'eval-like' | 'words';
  onStep?: (step: number, loss: number) => void;
}

export interface ContrastiveSummary {
  steps: number;
  firstLoss: number;
  lastLoss: number;
  /** Mean loss of the last 10% of steps. */
  finalMeanLoss: number;
  /** ln B: the loss of a model that cannot tell the pairs apart. */
  chanceLoss: number;
  seconds: number;
}

export function splitSentences(document: string): string[] {
  return document
    .split(/(?<=[.!?]["')\]]?)\s+|\n+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => bm25Terms(sentence).length >= 4);
}

/** One pseudo-query / passage pair from sentence `index` of `sentences`; null when it has too few content words. */
export function pairAround(sentences: readonly string[], index: number, rng: Rng): ContrastivePair | null {
  const words = [...new Set(bm25Terms(sentences[index]).filter((word) => word.length >= 3))];
  if (words.length < 4) return null;
  const picked = Array.from(rng.permutation(words.length), (i) => words[i]).slice(0, 8);
  const context = [...sentences.slice(Math.max(0, index - 2), index), ...sentences.slice(index + 1, index + 4)];
  if (context.length === 0) return null;
  return { anchor: picked.join(' '), positive: context.join(' ') };
}

/**
 * A pair whose anchor is made the way the Brown eval makes its queries (rewriteSentenceAsQuery:
 * content words only, at most 40% of them found elsewhere in the document), so training sees the
 * queries' distribution: words the passage mostly lacks. Null when the sentence has too few words.
 */
export function evalLikePair(sentences: readonly string[], index: number, rng: Rng): ContrastivePair | null {
  const rest = new Set(sentences.filter((_, i) => i !== index).flatMap(bm25Terms));
  const rewritten = rewriteSentenceAsQuery(sentences[index], rest, rng);
  const context = [...sentences.slice(Math.max(0, index - 2), index), ...sentences.slice(index + 1, index + 4)];
  if (rewritten === null || context.length === 0) return null;
  return { anchor: rewritten.words.join(' '), positive: context.join(' ') };
}

/** The first pair `make` gives from one of 10 random sentences, or null. */
function firstPair(make: typeof pairAround, sentences: readonly string[], rng: Rng): ContrastivePair | null {
  for (let attempt = 0; attempt < 10; attempt++) {
    const pair = make(sentences, rng.randint(sentences.length), rng);
    if (pair !== null) return pair;
  }
  return null;
}

/** l2-normalised rows, through autograd: x / √(Σ x² + ε). */
function normalizeRows(x: Tensor): Tensor {
  return x.div(x.mul(x).sum(-1, true).add(1e-12).sqrt()); // (B, C)
}

function embedBatch(model: BertModel, tokenizer: Tokenizer, texts: readonly string[], maxLength: number): Tensor {
  const batch = encodeBertBatch(tokenizer, texts, maxLength);
  const hidden = model.forward(batch.ids, { tokenTypeIds: batch.tokenTypeIds, attentionMask: batch.attentionMask }).lastHiddenState; // (B, T, C)
  return normalizeRows(meanPool(hidden, batch.attentionMask)); // (B, C)
}

/** The symmetric in-batch-negatives loss of a batch of pairs (exported for the tests). */
export function inBatchNegativesLoss(anchors: Tensor, positives: Tensor, temperature: number): Tensor {
  const B = anchors.shape[0];
  const scores = anchors.matmul(positives.transpose(0, 1)).div(temperature); // (B, B)
  const targets = Int32Array.from({ length: B }, (_, i) => i);
  return crossEntropy(scores, targets).add(crossEntropy(scores.transpose(0, 1), targets)).mul(0.5);
}

export function trainContrastive(options: ContrastiveOptions): ContrastiveSummary {
  const started = performance.now();
  const steps = options.steps ?? 300;
  const batchSize = options.batchSize ?? 32;
  const temperature = options.temperature ?? 0.05;
  const maxLength = Math.min(options.maxLength ?? 96, options.model.config.max_position_embeddings);
  const rng = new Rng(options.seed ?? 0);
  const documents = options.documents.map(splitSentences).filter((sentences) => sentences.length >= 3);
  if (documents.length < 2) throw new QkvValueError(`trainContrastive: need at least 2 documents of 3 or more sentences, got ${documents.length}`);
  const B = Math.min(batchSize, documents.length);
  const optimizer = new AdamW(options.model.parameters(), { lr: options.lr ?? 5e-4, weightDecay: 0.01 });
  const schedule = warmupCosineSchedule({ maxLr: options.lr ?? 5e-4, minLr: (options.lr ?? 5e-4) / 10, warmupSteps: Math.max(1, Math.floor(steps / 10)), totalSteps: steps });
  options.model.train();
  const makePair = (options.pairs ?? 'eval-like') === 'eval-like' ? evalLikePair : pairAround;
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const pairs: ContrastivePair[] = [];
    for (const documentIndex of Array.from(rng.permutation(documents.length)).slice(0, B)) {
      const sentences = documents[documentIndex];
      // Eval-like anchors need novel words; a document too repetitive to give one falls back to 'words' pairs.
      for (const make of makePair === pairAround ? [pairAround] : [evalLikePair, pairAround]) {
        const pair = firstPair(make, sentences, rng);
        if (pair !== null) {
          pairs.push(pair);
          break;
        }
      }
    }
    optimizer.lr = schedule(step);
    const anchors = embedBatch(options.model, options.tokenizer, pairs.map((pair) => pair.anchor), Math.min(24, maxLength));
    const positives = embedBatch(options.model, options.tokenizer, pairs.map((pair) => pair.positive), maxLength);
    const loss = inBatchNegativesLoss(anchors, positives, temperature);
    loss.backward();
    clipGradNorm(options.model.parameters(), 1);
    optimizer.step();
    optimizer.zeroGrad();
    losses.push(loss.item());
    options.onStep?.(step + 1, losses[losses.length - 1]);
  }
  options.model.eval();
  const tail = losses.slice(-Math.max(1, Math.floor(steps / 10)));
  return {
    steps,
    firstLoss: losses[0],
    lastLoss: losses[losses.length - 1],
    finalMeanLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
    chanceLoss: Math.log(B),
    seconds: (performance.now() - started) / 1000,
  };
}
