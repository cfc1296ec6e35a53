/**
 * RMSProp: divide the gradient by a running root-mean-square of recent gradients.
 *
 * reference: torch.optim.RMSprop (Hinton's lecture 6e; centred form from Graves 2013):
 *   g ← ∇ + λ·p
 *   s ← α·s + (1 − α)·g²
 *   centred: a ← α·a + (1 − α)·g, and the denominator is √(s − a²) + ε; otherwise √s + ε
 *   with momentum μ > 0: b ← μ·b + g / denominator, p ← p − η·b
 *   otherwise:           p ← p − η·g / denominator
 */
import { Optimizer, withDefaults, type Hyperparameters, type ParamGroupOptions, type ParameterState } from './optimizer.ts';
import type { Storage, Tensor } from '../tensor/tensor.ts';

export interface RMSPropHyperparameters extends Hyperparameters {
  /** η. */
  lr: number;
  /** α: decay rate of the running mean of squared gradients. */
  alpha: number;
  /** ε, added to the denominator after the square root (as PyTorch; Keras adds it inside). */
  eps: number;
  /** λ, L2 penalty added to the gradient. */
  weightDecay: number;
  /** μ; 0 turns momentum (and its buffer) off. */
  momentum: number;
  /** Normalise by an estimate of the variance (subtract the squared running mean). */
  centered: boolean;
}

/** torch.optim.RMSprop's defaults. */
export const RMSPROP_DEFAULTS: RMSPropHyperparameters = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false };

/**
 * One RMSProp step over raw arrays, in place. `gradAvg` is null unless centred,
 * `momentumBuffer` null unless momentum > 0.
 */
export function rmspropUpdate(
  param: Storage,
  grad: Storage,
  squareAvg: Storage,
  gradAvg: Storage | null,
  momentumBuffer: Storage | null,
  hyper: RMSPropHyperparameters,
): void {
  const { lr, alpha, eps, weightDecay, momentum } = hyper;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    const g = grad[i] + weightDecay * param[i];
    const s = alpha * squareAvg[i] + (1 - alpha) * g * g;
    squareAvg[i] = s;
    let variance = s;
    if (gradAvg !== null) {
      const a = alpha * gradAvg[i] + (1 - alpha) * g;
      gradAvg[i] = a;
      variance = s - a * a;
    }
    const denominator = Math.sqrt(variance) + eps;
    if (momentumBuffer !== null) {
      const b = momentum * momentumBuffer[i] + g / denominator;
      momentumBuffer[i] = b;
      param[i] -= lr * b;
    } else {
      param[i] -= (lr * g) / denominator;
    }
  }
}

/** @example const optimizer = new RMSProp(model.parameters(), { lr: 1e-3, momentum: 0.9, centered: true }); */
export class RMSProp extends Optimizer<RMSPropHyperparameters> {
  constructor(params: readonly Tensor[] | readonly ParamGroupOptions<RMSPropHyperparameters>[], options: Partial<RMSPropHyperparameters> = {}) {
    super(params, withDefaults(RMSPROP_DEFAULTS, options));
  }

  protected override bufferNames(group: RMSPropHyperparameters): readonly string[] {
    const names = ['squareAvg'];
    if (group.centered) names.push('gradAvg');
    if (group.momentum > 0) names.push('momentumBuffer');
    return names;
  }

  protected override updateParameter(param: Storage, grad: Storage, state: ParameterState, group: RMSPropHyperparameters): void {
    const { squareAvg, gradAvg, momentumBuffer } = state.buffers;
    rmspropUpdate(param, grad, squareAvg, group.centered ? gradAvg : null, group.momentum > 0 ? momentumBuffer : null, group);
  }

  protected override validateGroup(group: RMSPropHyperparameters, groupIndex: number): void {
    super.validateGroup(group, groupIndex);
    this.requireUnitInterval(group.alpha, 'alpha', groupIndex);
    this.requireNonNegative(group.eps, 'eps', groupIndex);
    this.requireNonNegative(group.weightDecay, 'weightDecay', groupIndex);
    this.requireNonNegative(group.momentum, 'momentum', groupIndex);
  }
}
