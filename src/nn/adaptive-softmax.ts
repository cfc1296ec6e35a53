/**
 * Adaptive softmax (Grave et al., 2017, "Efficient softmax approximation for GPUs"), PyTorch's
 * `nn.AdaptiveLogSoftmaxWithLoss`: exact log-probabilities over a large vocabulary at a fraction
 * of the full softmax's cost.
 *
 * Legend: N = rows (B·T flattened), C = in_features, V = vocabulary, S = shortlist (cutoffs[0]),
 * K = number of tail clusters.
 *
 * Why it works: word frequencies follow Zipf's law, so a few thousand frequent tokens cover most
 * of the text. Token ids must be sorted by frequency (id 0 the most frequent). The head scores
 * the S frequent tokens plus one logit per tail cluster; cluster i covers ids
 * [cutoffs[i], cutoffs[i+1]) and has its own two-layer projection C → C / div^(i+1) → size_i, so
 * rare tokens get small, cheap projections. A rare token's log-probability is
 *   log p(w) = log p_head(cluster of w) + log p_cluster(w | cluster),
 * exact, and the distribution still sums to 1. In training, each row pays for the head plus only
 * the one cluster its target falls in (most rows: none).
 *
 *   x (N, C) ──head──► (N, S + K) ──logSoftmax──► frequent tokens | cluster logits
 *        └──tail[i]: Linear(C, C/div^(i+1)) → Linear(·, size_i) ──logSoftmax──► + cluster logit
 *
 * Parameter names match PyTorch (`head.weight`, `tail.0.0.weight`, `tail.0.1.weight`, …).
 *
 * @example
 * const out = new AdaptiveLogSoftmaxWithLoss(128, 50257, [2000, 10000], { divValue: 4 });
 * const { loss } = out.forward(hidden.view(B * T, C), targets); // mean NLL over rows
 * const logProbs = out.logProb(hidden.view(B * T, C));           // (N, V), rows sum to 1
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { crossEntropy } from '../tensor/ops/loss.ts';
import { indexSelect } from '../tensor/ops/indexing.ts';
import { concat } from '../tensor/ops/shape.ts';
import { logSoftmax } from '../tensor/ops/softmax.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type IndexLike } from '../tensor/tensor.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';
import { ModuleList } from './module-list.ts';
import { Sequential } from './sequential.ts';

export interface AdaptiveSoftmaxOptions {
  /** Each tail cluster's hidden size is in_features / divValue^(i+1) (default 4, as PyTorch). */
  divValue?: number;
  /** A bias on the head projection (default false, as PyTorch). */
  headBias?: boolean;
  rng?: Rng;
}

export interface AdaptiveSoftmaxOutput {
  /** log p(target) per row, (N). */
  output: Tensor;
  /** Mean negative log-likelihood over the rows, (). */
  loss: Tensor;
}

export class AdaptiveLogSoftmaxWithLoss extends Module {
  readonly inFeatures: number;
  readonly nClasses: number;
  /** The cutoffs as given, with nClasses appended: cluster i covers [cutoffs[i], cutoffs[i+1]). */
  readonly cutoffs: readonly number[];
  readonly shortlistSize: number;
  readonly nClusters: number;
  /** (S + K) logits: the frequent tokens, then one per tail cluster. */
  head: Linear;
  /** tail[i] = Sequential(Linear(C, hsz_i, no bias), Linear(hsz_i, size_i, no bias)). */
  tail: ModuleList<Sequential>;

  constructor(inFeatures: number, nClasses: number, cutoffs: readonly number[], options: AdaptiveSoftmaxOptions = {}) {
    super();
    const sorted = cutoffs.every((cutoff, i) => Number.isInteger(cutoff) && cutoff > 0 && (i === 0 || cutoff > cutoffs[i - 1]));
    if (cutoffs.length === 0 || !sorted || cutoffs[cutoffs.length - 1] >= nClasses) {
      throw new QkvValueError(
        `AdaptiveLogSoftmaxWithLoss: cutoffs must be a non-empty, strictly increasing list of integers in (0, ${nClasses}), got [${cutoffs.join(', ')}]`,
      );
    }
    const divValue = options.divValue ?? 4;
    if (!(divValue >= 1)) throw new QkvValueError(`AdaptiveLogSoftmaxWithLoss: divValue must be ≥ 1, got ${divValue}`);
    const rng = options.rng ?? defaultRng;
    this.inFeatures = inFeatures;
    this.nClasses = nClasses;
    this.cutoffs = [...cutoffs, nClasses];
    this.shortlistSize = cutoffs[0];
    this.nClusters = cutoffs.length;
    this.head = new Linear(inFeatures, this.shortlistSize + this.nClusters, { bias: options.headBias ?? false, rng });
    const clusters: Sequential[] = [];
    for (let i = 0; i < this.nClusters; i++) {
      // PyTorch floors the hidden size; at least 1 so a tiny in_features still works.
      const hiddenSize = Math.max(1, Math.floor(inFeatures / divValue ** (i + 1)));
      const clusterSize = this.cutoffs[i + 1] - this.cutoffs[i];
      clusters.push(
        new Sequential(new Linear(inFeatures, hiddenSize, { bias: false, rng }), new Linear(hiddenSize, clusterSize, { bias: false, rng })),
      );
    }
    this.tail = new ModuleList(clusters);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, n_classes=${this.nClasses}, cutoffs=[${this.cutoffs.slice(0, -1).join(', ')}]`;
  }

  private checkInput(x: Tensor): void {
    if (x.ndim !== 2 || x.shape[1] !== this.inFeatures) {
      throw new QkvShapeError(`AdaptiveLogSoftmaxWithLoss: input must be (N, ${this.inFeatures}), got ${formatShape(x.shape)}`);
    }
  }

  /**
   * x (N, C), targets (N) → log p(target) per row and the mean NLL. Rows whose target lies in a
   * tail cluster are gathered and pushed through that cluster only.
   */
  forward(x: Tensor, targets: IndexLike): AdaptiveSoftmaxOutput {
    this.checkInput(x);
    const N = x.shape[0];
    const ids = targets instanceof Tensor ? targets.contiguousData() : targets;
    if (ids.length !== N) {
      throw new QkvShapeError(`AdaptiveLogSoftmaxWithLoss: ${ids.length} targets for input ${formatShape(x.shape)}: expected ${N}`);
    }
    // The head's target: the token itself when frequent, else the logit of its cluster.
    const headTargets = new Int32Array(N);
    const rowsByCluster: number[][] = Array.from({ length: this.nClusters }, () => []);
    for (let row = 0; row < N; row++) {
      const id = ids[row];
      if (!Number.isInteger(id) || id < 0 || id >= this.nClasses) {
        throw new QkvValueError(`AdaptiveLogSoftmaxWithLoss: target ${id} at row ${row} is outside [0, ${this.nClasses})`);
      }
      if (id < this.shortlistSize) {
        headTargets[row] = id;
        continue;
      }
      const cluster = this.clusterOf(id);
      headTargets[row] = this.shortlistSize + cluster;
      rowsByCluster[cluster].push(row);
    }
    // −log p(head target) per row; the tail terms are added at their rows below.
    let nll = crossEntropy(this.head.forward(x), headTargets, { reduction: 'none' }); // (N)
    for (let cluster = 0; cluster < this.nClusters; cluster++) {
      const rows = rowsByCluster[cluster];
      if (rows.length === 0) continue;
      const start = this.cutoffs[cluster];
      const clusterTargets = Int32Array.from(rows, (row) => ids[row] - start);
      const clusterLogits = this.tail.at(cluster).forward(indexSelect(x, 0, rows)); // (n_i, size_i)
      const clusterNll = crossEntropy(clusterLogits, clusterTargets, { reduction: 'none' }); // (n_i)
      nll = nll.add(scatterRows(clusterNll, rows, N));
    }
    const output = nll.neg();
    return { output, loss: nll.mean() };
  }

  /** Cluster index of a tail token id (cutoffs are few: a linear scan is cheapest). */
  private clusterOf(id: number): number {
    let cluster = 0;
    while (id >= this.cutoffs[cluster + 1]) cluster++;
    return cluster;
  }

  /** x (N, C) → log-probabilities of every token, (N, V); each row's exp sums to 1. */
  logProb(x: Tensor): Tensor {
    this.checkInput(x);
    const headLogProb = logSoftmax(this.head.forward(x), 1); // (N, S + K)
    const parts = [headLogProb.narrow(1, 0, this.shortlistSize)];
    for (let cluster = 0; cluster < this.nClusters; cluster++) {
      const clusterLogProb = logSoftmax(this.tail.at(cluster).forward(x), 1); // (N, size_i)
      const clusterPrior = headLogProb.narrow(1, this.shortlistSize + cluster, 1); // (N, 1)
      parts.push(clusterLogProb.add(clusterPrior));
    }
    return concat(parts, 1);
  }

  /** The most likely token per row, (N) as plain numbers. */
  predict(x: Tensor): number[] {
    return Array.from(this.logProb(x).argmax(1).contiguousData());
  }
}

/**
 * values (n) placed at `rows` of a zero vector (N): the differentiable scatter used to add each
 * cluster's NLL to its rows. indexSelect's backward scatter-adds, so selecting with the inverse
 * map (row → its slot in `values`, or the appended zero) is the scatter's forward.
 */
function scatterRows(values: Tensor, rows: readonly number[], N: number): Tensor {
  const padded = concat([values, Tensor.zeros([1], { dtype: values.dtype })], 0); // (n + 1)
  const slotOfRow = new Int32Array(N).fill(rows.length);
  rows.forEach((row, slot) => (slotOfRow[row] = slot));
  return indexSelect(padded, 0, slotOfRow);
}
