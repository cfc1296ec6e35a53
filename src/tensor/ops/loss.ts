/**
 * Loss functions, each a single fused forward with one fused backward (no graph of small ops):
 * cross-entropy over class logits, mean squared error, and binary cross-entropy with logits.
 */
import { attachGrad } from '../autograd.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../errors.ts';
import { allocate, Tensor, type IndexLike, type Storage } from '../tensor.ts';
import { numel, shapesEqual } from '../shape.ts';
import { crossEntropyBackward, crossEntropyForward } from '../../kernels/index.ts'; // float32 on wasm
import { readDense } from './strided.ts';

export type Reduction = 'mean' | 'sum' | 'none';

export interface CrossEntropyOptions {
  /** Targets equal to this contribute no loss and no gradient (padding). Default −100, as PyTorch. */
  ignoreIndex?: number;
  /** ε in [0, 1]: the target distribution becomes (1 − ε)·onehot + ε/C. Default 0. */
  labelSmoothing?: number;
  /** 'mean' over non-ignored targets (default), 'sum', or 'none' (one loss per target). */
  reduction?: Reduction;
}


function checkReduction(op: string, reduction: string): void {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new QkvValueError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  }
}

/** Targets as integers, with the shape they came in (null for a plain array). */
function readTargets(targets: IndexLike): { values: Int32Array; shape: readonly number[] | null } {
  if (targets instanceof Int32Array) return { values: targets, shape: null };
  const source = targets instanceof Tensor ? targets.contiguousData() : targets;
  const values = new Int32Array(source.length);
  for (let i = 0; i < source.length; i++) {
    const value = source[i];
    if (!Number.isInteger(value)) throw new QkvValueError(`crossEntropy: target at position ${i} is ${value}, not an integer class index`);
    values[i] = value;
  }
  return { values, shape: targets instanceof Tensor ? targets.shape : null };
}

/**
 * Cross-entropy between class logits and integer targets: log-softmax and negative
 * log-likelihood fused over the last axis (C classes). `logits` is (N, C) or (..., C); `targets`
 * has the leading shape (...) or is flat with one class index per row.
 *
 * PyTorch semantics throughout: 'mean' divides by the number of non-ignored targets, and with
 * label smoothing ε each row's loss is (1 − ε)·nll + ε·mean over classes of −log p.
 * One deliberate difference: when every target is ignored, 'mean' returns 0 (PyTorch gives
 * NaN), so a training step on an all-padding batch stays finite and changes nothing.
 *
 * @example
 * const loss = crossEntropy(logits.view(B * T, V), targets, { ignoreIndex: padId });
 * loss.backward();
 */
export function crossEntropy(logits: Tensor, targets: IndexLike, options: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const smoothing = options.labelSmoothing ?? 0;
  const reduction = options.reduction ?? 'mean';
  checkReduction('crossEntropy', reduction);
  if (!(smoothing >= 0 && smoothing <= 1)) throw new QkvValueError(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  if (logits.ndim === 0) throw new QkvShapeError('crossEntropy: logits must have a class axis, got shape ()');
  const C = logits.shape[logits.ndim - 1];
  const leadingShape = logits.shape.slice(0, -1);
  const N = numel(leadingShape);

  const { values: targetIds, shape: targetShape } = readTargets(targets);
  const flatOk = targetShape === null || targetShape.length === 1 || (N === 1 && targetShape.length === 0);
  if (targetIds.length !== N || (targetShape !== null && !shapesEqual(targetShape, leadingShape) && !flatOk)) {
    throw new QkvShapeError(
      `crossEntropy: targets of shape ${formatShape(targetShape ?? [targetIds.length])} do not fit logits of shape ${formatShape(logits.shape)}: ` +
        `expected the leading shape ${formatShape(leadingShape)} or ${N} flat targets`,
    );
  }
  let count = 0;
  for (let row = 0; row < N; row++) {
    const target = targetIds[row];
    if (target === ignoreIndex) continue;
    if (target < 0 || target >= C) {
      throw new QkvValueError(`crossEntropy: target ${target} at position ${row} is out of range for ${C} classes (expected 0..${C - 1} or ignoreIndex ${ignoreIndex})`);
    }
    count++;
  }

  const logitData = readDense(logits);
  const losses = allocate(logits.dtype, N);
  const logNormalizers = new Float64Array(N);
  crossEntropyForward(losses, logNormalizers, logitData, targetIds, N, C, ignoreIndex, smoothing);

  let out: Tensor;
  if (reduction === 'none') {
    out = new Tensor(losses, leadingShape);
  } else {
    let total = 0;
    for (let row = 0; row < N; row++) total += losses[row];
    // All targets ignored: 0, not 0/0 (see the doc comment).
    out = Tensor.scalar(reduction === 'sum' ? total : count === 0 ? 0 : total / count, { dtype: logits.dtype });
  }

  return attachGrad(out, 'crossEntropy', [logits], (grad) => {
    let rowScales: ArrayLike<number>;
    if (reduction === 'none') {
      rowScales = readDense(grad);
    } else {
      const scale = grad.item() * (reduction === 'sum' ? 1 : count === 0 ? 0 : 1 / count);
      rowScales = new Float64Array(N).fill(scale);
    }
    const dlogits = allocate(logits.dtype, logits.size);
    crossEntropyBackward(dlogits, logitData, logNormalizers, targetIds, rowScales, N, C, ignoreIndex, smoothing);
    return [new Tensor(dlogits, logits.shape)];
  });
}

/** Checks that input and target of an elementwise loss have the same shape. */
function checkSameShape(op: string, input: Tensor, target: Tensor, reduction: Reduction): void {
  checkReduction(op, reduction);
  if (!shapesEqual(input.shape, target.shape)) {
    throw new QkvShapeError(`${op}: input ${formatShape(input.shape)} and target ${formatShape(target.shape)} must have the same shape`);
  }
}

/** Per-element losses reduced as asked: the tensor itself for 'none', else a scalar. */
function reduceLosses(losses: Storage, shape: readonly number[], reduction: Reduction): Tensor {
  if (reduction === 'none') return new Tensor(losses, shape);
  let total = 0;
  for (let i = 0; i < losses.length; i++) total += losses[i];
  return Tensor.scalar(reduction === 'sum' ? total : total / losses.length, { dtype: losses instanceof Float64Array ? 'float64' : 'float32' });
}

/**
 * dLoss/dloss_i for each element: the incoming gradient itself for 'none' (`perElement`), else
 * one `uniform` value (divided by the element count for a mean).
 */
function lossGradScales(grad: Tensor, reduction: Reduction, size: number): { perElement: Storage | null; uniform: number } {
  if (reduction === 'none') return { perElement: readDense(grad), uniform: 0 };
  return { perElement: null, uniform: grad.item() / (reduction === 'sum' ? 1 : size) };
}

/**
 * Mean squared error (x − y)², reduced by `reduction` (default 'mean'). Shapes must match.
 *
 * @example mseLoss(prediction, Tensor.from([1, 2, 3])).item()
 */
export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkSameShape('mseLoss', input, target, reduction);
  const size = input.size;
  const x = readDense(input);
  const y = readDense(target);
  const losses = allocate(input.dtype, size);
  for (let i = 0; i < size; i++) {
    const difference = x[i] - y[i];
    losses[i] = difference * difference;
  }
  return attachGrad(reduceLosses(losses, input.shape, reduction), 'mseLoss', [input, target], (grad, needs) => {
    const { perElement, uniform } = lossGradScales(grad, reduction, size);
    // ∂/∂x = 2(x − y), ∂/∂y = −2(x − y)
    const dInput = allocate(input.dtype, size);
    for (let i = 0; i < size; i++) dInput[i] = (perElement === null ? uniform : perElement[i]) * 2 * (x[i] - y[i]);
    let dTarget: Storage | null = null;
    if (needs[1]) {
      dTarget = allocate(target.dtype, size);
      for (let i = 0; i < size; i++) dTarget[i] = -dInput[i];
    }
    return [needs[0] ? new Tensor(dInput, input.shape) : null, dTarget && new Tensor(dTarget, target.shape)];
  });
}

/**
 * Binary cross-entropy of logits x against targets y in [0, 1], in the stable form
 * max(x, 0) − x·y + log(1 + exp(−|x|)): no exp overflows and no log(0), even for |x| of 1e4.
 * ∂/∂x = σ(x) − y, ∂/∂y = −x.
 *
 * @example binaryCrossEntropyWithLogits(scores, labels) // labels 0/1 (or soft)
 */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor, reduction: Reduction = 'mean'): Tensor {
  checkSameShape('binaryCrossEntropyWithLogits', logits, targets, reduction);
  const size = logits.size;
  const x = readDense(logits);
  const y = readDense(targets);
  const losses = allocate(logits.dtype, size);
  for (let i = 0; i < size; i++) {
    const v = x[i];
    losses[i] = (v > 0 ? v : 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return attachGrad(reduceLosses(losses, logits.shape, reduction), 'binaryCrossEntropyWithLogits', [logits, targets], (grad, needs) => {
    const { perElement, uniform } = lossGradScales(grad, reduction, size);
    let dLogits: Storage | null = null;
    let dTargets: Storage | null = null;
    if (needs[0]) {
      dLogits = allocate(logits.dtype, size);
      for (let i = 0; i < size; i++) {
        const v = x[i];
        // σ(v) in the branch where exp cannot overflow
        const sigmoid = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
        dLogits[i] = (perElement === null ? uniform : perElement[i]) * (sigmoid - y[i]);
      }
    }
    if (needs[1]) {
      dTargets = allocate(targets.dtype, size);
      for (let i = 0; i < size; i++) dTargets[i] = -(perElement === null ? uniform : perElement[i]) * x[i];
    }
    return [dLogits && new Tensor(dLogits, logits.shape), dTargets && new Tensor(dTargets, targets.shape)];
  });
}
