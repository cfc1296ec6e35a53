/**
 * LayerNorm, RMSNorm and BatchNorm as single fused ops: the forward saves its statistics
 * (mean/rstd) and one backward computes every gradient from them (the llm.c formulas in
 * `src/kernels/reference/norm.ts`), instead of a graph of a dozen small ops.
 */
import { attachGrad } from '../autograd.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../errors.ts';
import { allocate, Tensor, type DType, type Storage } from '../tensor.ts';
import { layerNormBackward, layerNormForward, rmsNormBackward, rmsNormForward } from '../../kernels/index.ts'; // float32 on wasm
import { batchNormBackward, batchNormForward, batchNormStatistics } from '../../kernels/reference/norm.ts';
import { readDense } from './strided.ts';

function checkFeatureVector(op: string, name: string, t: Tensor | null, C: number, x: Tensor): void {
  if (t !== null && (t.ndim !== 1 || t.shape[0] !== C)) {
    throw new QkvShapeError(`${op}: ${name} must have shape (${C}) for input ${formatShape(x.shape)}, got ${formatShape(t.shape)}`);
  }
}

/** A float64 gradient accumulator converted to a tensor of `dtype` and `shape`. */
function toTensor(values: Float64Array, dtype: DType, shape: readonly number[]): Tensor {
  const out = allocate(dtype, values.length);
  out.set(values);
  return new Tensor(out, shape);
}

/**
 * The tensors that require grad among [x, weight, bias] (nulls dropped), and for each of the
 * three its position in that list (−1 when absent), so a backward can put gradients in place.
 */
function gradInputs(tensors: readonly (Tensor | null)[]): { inputs: Tensor[]; positions: number[] } {
  const inputs: Tensor[] = [];
  const positions = tensors.map((t) => (t === null ? -1 : inputs.push(t) - 1));
  return { inputs, positions };
}

/**
 * Layer normalisation over the last axis (size C): (x − mean) / √(var + eps) · weight + bias,
 * with the biased variance, as torch.nn.LayerNorm. `weight` and `bias` are (C) or null.
 *
 * @example layerNorm(x, gamma, beta) // x (B,T,C), gamma and beta (C)
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  if (x.ndim === 0) throw new QkvShapeError('layerNorm: input must have at least one axis, got shape ()');
  const C = x.shape[x.ndim - 1];
  const N = C === 0 ? 0 : x.size / C;
  checkFeatureVector('layerNorm', 'weight', weight, C, x);
  checkFeatureVector('layerNorm', 'bias', bias, C, x);
  const inp = readDense(x);
  const weightData = weight && readDense(weight);
  const out = allocate(x.dtype, x.size);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  layerNormForward(out, mean, rstd, inp, weightData, bias && readDense(bias), N, C, eps);

  const { inputs, positions } = gradInputs([x, weight, bias]);
  return attachGrad(new Tensor(out, x.shape), 'layerNorm', inputs, (grad, needs) => {
    const needX = needs[positions[0]];
    const needWeight = weight !== null && needs[positions[1]];
    const needBias = bias !== null && needs[positions[2]];
    const dx = needX ? allocate(x.dtype, x.size) : null;
    const dweight = needWeight ? new Float64Array(C) : null;
    const dbias = needBias ? new Float64Array(C) : null;
    layerNormBackward(dx, dweight, dbias, readDense(grad), inp, weightData, mean, rstd, N, C);
    const grads: (Tensor | null)[] = [dx && new Tensor(dx, x.shape)];
    if (weight !== null) grads.push(dweight && toTensor(dweight, weight.dtype, weight.shape));
    if (bias !== null) grads.push(dbias && toTensor(dbias, bias.dtype, bias.shape));
    return grads;
  });
}

/**
 * Root-mean-square normalisation over the last axis, Llama-style: x / √(mean(x²) + eps) · weight
 * (no mean subtraction, no bias). `weight` is (C) or null.
 *
 * @example rmsNorm(x, gain) // x (B,T,C), gain (C)
 */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps = 1e-6): Tensor {
  if (x.ndim === 0) throw new QkvShapeError('rmsNorm: input must have at least one axis, got shape ()');
  const C = x.shape[x.ndim - 1];
  const N = C === 0 ? 0 : x.size / C;
  checkFeatureVector('rmsNorm', 'weight', weight, C, x);
  const inp = readDense(x);
  const weightData = weight && readDense(weight);
  const out = allocate(x.dtype, x.size);
  const rrms = new Float64Array(N);
  rmsNormForward(out, rrms, inp, weightData, N, C, eps);

  const { inputs, positions } = gradInputs([x, weight]);
  return attachGrad(new Tensor(out, x.shape), 'rmsNorm', inputs, (grad, needs) => {
    const dx = needs[positions[0]] ? allocate(x.dtype, x.size) : null;
    const dweight = weight !== null && needs[positions[1]] ? new Float64Array(C) : null;
    rmsNormBackward(dx, dweight, readDense(grad), inp, weightData, rrms, N, C);
    const grads: (Tensor | null)[] = [dx && new Tensor(dx, x.shape)];
    if (weight !== null) grads.push(dweight && toTensor(dweight, weight.dtype, weight.shape));
    return grads;
  });
}

export interface BatchNormOptions {
  /** Batch statistics (and update the running ones) when true; the running statistics when false. */
  training: boolean;
  /** Weight of the new batch statistic in the running average: running = (1 − m)·running + m·batch. Default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
}

/**
 * Batch normalisation of x (N, C) or (N, C, L): each channel c is normalised with statistics
 * over N (and L), then scaled by weight[c] and shifted by bias[c], as torch.nn.BatchNorm1d.
 *
 * Training: batch mean and biased variance normalise the input, and `running` (if given) is
 * updated in place, the variance with the unbiased estimate (× n/(n − 1)), as PyTorch does.
 * Eval: the running statistics normalise the input and are left alone.
 *
 * @example batchNorm(x, { mean: runningMean, var: runningVar }, gamma, beta, { training: true })
 */
export function batchNorm(
  x: Tensor,
  running: { mean: Tensor; var: Tensor } | null,
  weight: Tensor | null,
  bias: Tensor | null,
  options: BatchNormOptions,
): Tensor {
  if (x.ndim !== 2 && x.ndim !== 3) {
    throw new QkvShapeError(`batchNorm: expected input (N, C) or (N, C, L), got ${formatShape(x.shape)}`);
  }
  const training = options.training;
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  const [N, C] = x.shape;
  const L = x.ndim === 3 ? x.shape[2] : 1;
  const count = N * L;
  checkFeatureVector('batchNorm', 'weight', weight, C, x);
  checkFeatureVector('batchNorm', 'bias', bias, C, x);
  checkFeatureVector('batchNorm', 'running mean', running?.mean ?? null, C, x);
  checkFeatureVector('batchNorm', 'running var', running?.var ?? null, C, x);
  if (!training && running === null) throw new QkvValueError('batchNorm: eval mode needs running statistics (got running = null)');
  if (training && count <= 1) {
    throw new QkvValueError(`batchNorm: training needs more than 1 value per channel, got input ${formatShape(x.shape)}`);
  }

  const inp = readDense(x);
  const mean = new Float64Array(C);
  const rstd = new Float64Array(C);
  if (training) {
    const variance = new Float64Array(C);
    batchNormStatistics(mean, variance, inp, N, C, L);
    for (let c = 0; c < C; c++) rstd[c] = 1 / Math.sqrt(variance[c] + eps);
    if (running !== null) {
      const { mean: runningMean, var: runningVar } = running;
      const unbiasing = count / (count - 1);
      for (let c = 0; c < C; c++) {
        const meanIndex = runningMean.offset + c * runningMean.strides[0];
        const varIndex = runningVar.offset + c * runningVar.strides[0];
        runningMean.data[meanIndex] = (1 - momentum) * runningMean.data[meanIndex] + momentum * mean[c];
        runningVar.data[varIndex] = (1 - momentum) * runningVar.data[varIndex] + momentum * variance[c] * unbiasing;
      }
    }
  } else {
    const runningMean = readDense(running!.mean);
    const runningVar = readDense(running!.var);
    for (let c = 0; c < C; c++) {
      mean[c] = runningMean[c];
      rstd[c] = 1 / Math.sqrt(runningVar[c] + eps);
    }
  }
  const weightData = weight && readDense(weight);
  const out = allocate(x.dtype, x.size);
  batchNormForward(out, inp, mean, rstd, weightData, bias && readDense(bias), N, C, L);

  const { inputs, positions } = gradInputs([x, weight, bias]);
  return attachGrad(new Tensor(out, x.shape), 'batchNorm', inputs, (grad, needs) => {
    const dx = needs[positions[0]] ? allocate(x.dtype, x.size) : null;
    const dweight = weight !== null && needs[positions[1]] ? new Float64Array(C) : null;
    const dbias = bias !== null && needs[positions[2]] ? new Float64Array(C) : null;
    batchNormBackward(dx, dweight, dbias, readDense(grad), inp, weightData, mean, rstd, N, C, L, training);
    const grads: (Tensor | null)[] = [dx && new Tensor(dx, x.shape)];
    if (weight !== null) grads.push(dweight && toTensor(dweight, weight.dtype, weight.shape));
    if (bias !== null) grads.push(dbias && toTensor(dbias, bias.dtype, bias.shape));
    return grads;
  });
}
