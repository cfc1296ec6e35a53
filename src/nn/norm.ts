/**
 * Normalisation layers: LayerNorm and RMSNorm (per position, over the feature axis) and
 * BatchNorm1d (per feature, over the batch) — the contrast the lab's "why LayerNorm and not
 * BatchNorm?" experiment measures. The maths lives in `tensor/ops/norm.ts`; these modules hold
 * the learned gain/bias and, for BatchNorm, the running statistics.
 *
 * Names follow PyTorch / Hugging Face: `weight` (gain), `bias`, and BatchNorm's buffers
 * `running_mean`, `running_var`, `num_batches_tracked`.
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { batchNorm, layerNorm, rmsNorm } from '../tensor/ops/norm.ts';
import { Tensor, type DType } from '../tensor/tensor.ts';
import { Module } from './module.ts';
import { Buffer, Parameter } from './parameter.ts';

function checkPositiveInteger(op: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new QkvValueError(`${op}: ${name} must be a positive integer, got ${value}`);
}

function checkLastDim(op: string, x: Tensor, dim: number): void {
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== dim) {
    throw new QkvShapeError(`${op}: expected input with last dimension ${dim}, got ${formatShape(x.shape)}`);
  }
}

export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5, PyTorch's and GPT-2's). */
  eps?: number;
  /** Learn a per-feature gain `weight` (ones) and `bias` (zeros); default true. */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, whether to learn the bias too (default true; nanoGPT's `bias=False` drops it). */
  bias?: boolean;
  dtype?: DType;
}

/**
 * y = (x − mean) / √(var + eps) · weight + bias over the last axis (size `dim`), with the
 * population variance — PyTorch's `nn.LayerNorm(dim)`.
 *
 * @example const ln_1 = new LayerNorm(768); ln_1.forward(x); // (B, T, 768) → (B, T, 768)
 */
export class LayerNorm extends Module {
  readonly dim: number;
  readonly eps: number;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(dim: number, options: LayerNormOptions = {}) {
    super();
    checkPositiveInteger('LayerNorm', 'dim', dim);
    this.dim = dim;
    this.eps = options.eps ?? 1e-5;
    const dtype = options.dtype ?? 'float32';
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(Tensor.ones([dim], { dtype })) : null;
    this.bias = affine && (options.bias ?? true) ? new Parameter(Tensor.zeros([dim], { dtype })) : null;
  }

  override extraRepr(): string {
    return `${this.dim}, eps=${this.eps}, elementwise_affine=${this.weight !== null}`;
  }

  forward(x: Tensor): Tensor {
    checkLastDim('LayerNorm', x, this.dim);
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export interface RMSNormOptions {
  /** Added to the mean square before the square root (default 1e-6, Llama's). */
  eps?: number;
  /** Learn a per-feature gain `weight` (ones); default true. */
  elementwiseAffine?: boolean;
  dtype?: DType;
}

/**
 * y = x / √(mean(x²) + eps) · weight over the last axis: no centring, no bias (Llama-style,
 * Zhang & Sennrich 2019).
 */
export class RMSNorm extends Module {
  readonly dim: number;
  readonly eps: number;
  weight: Parameter | null;

  constructor(dim: number, options: RMSNormOptions = {}) {
    super();
    checkPositiveInteger('RMSNorm', 'dim', dim);
    this.dim = dim;
    this.eps = options.eps ?? 1e-6;
    this.weight = options.elementwiseAffine ?? true ? new Parameter(Tensor.ones([dim], { dtype: options.dtype ?? 'float32' })) : null;
  }

  override extraRepr(): string {
    return `${this.dim}, eps=${this.eps}`;
  }

  forward(x: Tensor): Tensor {
    checkLastDim('RMSNorm', x, this.dim);
    return rmsNorm(x, this.weight, this.eps);
  }
}

export interface BatchNorm1dOptions {
  /**
   * Weight of the new batch statistic in the running average:
   * running = (1 − momentum)·running + momentum·batch. Default 0.1 (PyTorch's). `null` gives
   * the cumulative average over all batches seen (momentum 1/num_batches_tracked).
   */
  momentum?: number | null;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn a per-feature gain `weight` (ones) and `bias` (zeros); default true. */
  affine?: boolean;
  /**
   * Keep running statistics and use them in eval mode (default true). Without them, batch
   * statistics are used in both modes.
   */
  trackRunningStats?: boolean;
  dtype?: DType;
}

/**
 * Batch normalisation over (N, C) or (N, C, L) inputs (Ioffe & Szegedy 2015): each of the C
 * features is normalised with statistics over the batch (and length) axes — batch statistics
 * while training (updating the running ones), the running statistics in eval mode.
 */
export class BatchNorm1d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  weight: Parameter | null;
  bias: Parameter | null;
  /** (C): running mean of the batch means, zeros at first; null without trackRunningStats. */
  running_mean: Buffer | null;
  /** (C): running mean of the (unbiased) batch variances, ones at first. */
  running_var: Buffer | null;
  /** (): training batches seen, kept for PyTorch state-dict compatibility and `momentum: null`. */
  num_batches_tracked: Buffer | null;

  constructor(numFeatures: number, options: BatchNorm1dOptions = {}) {
    super();
    checkPositiveInteger('BatchNorm1d', 'numFeatures', numFeatures);
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new QkvValueError(`BatchNorm1d: momentum must be in [0, 1] or null, got ${this.momentum}`);
    }
    const dtype = options.dtype ?? 'float32';
    const affine = options.affine ?? true;
    this.weight = affine ? new Parameter(Tensor.ones([numFeatures], { dtype })) : null;
    this.bias = affine ? new Parameter(Tensor.zeros([numFeatures], { dtype })) : null;
    const track = options.trackRunningStats ?? true;
    this.running_mean = track ? new Buffer(Tensor.zeros([numFeatures], { dtype })) : null;
    this.running_var = track ? new Buffer(Tensor.ones([numFeatures], { dtype })) : null;
    this.num_batches_tracked = track ? new Buffer(Tensor.zeros([], { dtype })) : null;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, track_running_stats=${this.running_mean !== null}`;
  }

  /** x (N, C) or (N, C, L) → same shape. */
  forward(x: Tensor): Tensor {
    if ((x.ndim !== 2 && x.ndim !== 3) || x.shape[1] !== this.numFeatures) {
      throw new QkvShapeError(
        `BatchNorm1d: expected input (N, ${this.numFeatures}) or (N, ${this.numFeatures}, L), got ${formatShape(x.shape)}`,
      );
    }
    const running = this.running_mean !== null && this.running_var !== null
      ? { mean: this.running_mean, var: this.running_var }
      : null;
    // Without running statistics there is nothing to use in eval mode: batch statistics then.
    const useBatchStatistics = this.training || running === null;
    let momentum = this.momentum ?? 0;
    if (this.training && this.num_batches_tracked !== null) {
      const tracked = this.num_batches_tracked;
      tracked.data[0] += 1;
      if (this.momentum === null) momentum = 1 / tracked.data[0];
    }
    return batchNorm(x, running, this.weight, this.bias, { training: useBatchStatistics, momentum, eps: this.eps });
  }
}
