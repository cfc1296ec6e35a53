/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay.
 *
 * reference: torch.optim.SGD (the update is the same, step by step):
 *   g ← ∇ + λ·p                                   (weight decay, added to the gradient)
 *   b ← g on the first step, else μ·b + (1 − τ)·g   (momentum μ, dampening τ)
 *   g ← g + μ·b with Nesterov, else b
 *   p ← p − η·g
 */
import { Optimizer, withDefaults, type Hyperparameters, type ParamGroupOptions, type ParameterState } from './optimizer.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Storage, Tensor } from '../tensor/tensor.ts';

export interface SGDHyperparameters extends Hyperparameters {
  /** η. */
  lr: number;
  /** μ; 0 turns momentum (and its buffer) off. */
  momentum: number;
  /** τ: the share of the new gradient left out of the momentum buffer. */
  dampening: number;
  /** λ, L2 penalty added to the gradient. */
  weightDecay: number;
  /** Look ahead along the momentum (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
}

/** torch.optim.SGD's defaults. */
export const SGD_DEFAULTS: SGDHyperparameters = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

/**
 * One SGD step over raw arrays, in place. `momentumBuffer` is null when momentum is off;
 * `step` counts from 1 (on step 1 the buffer is set to the gradient, as PyTorch does).
 */
export function sgdUpdate(param: Storage, grad: Storage, momentumBuffer: Storage | null, hyper: SGDHyperparameters, step: number): void {
  const { lr, momentum, dampening, weightDecay, nesterov } = hyper;
  const firstStep = step === 1;
  const n = param.length;
  for (let i = 0; i < n; i++) {
    let g = grad[i] + weightDecay * param[i];
    if (momentumBuffer !== null) {
      momentumBuffer[i] = firstStep ? g : momentum * momentumBuffer[i] + (1 - dampening) * g;
      g = nesterov ? g + momentum * momentumBuffer[i] : momentumBuffer[i];
    }
    param[i] -= lr * g;
  }
}

/**
 * @example
 * const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * loss.backward(); optimizer.step(); optimizer.zeroGrad();
 */
export class SGD extends Optimizer<SGDHyperparameters> {
  constructor(params: readonly Tensor[] | readonly ParamGroupOptions<SGDHyperparameters>[], options: Partial<SGDHyperparameters> = {}) {
    super(params, withDefaults(SGD_DEFAULTS, options));
  }

  protected override bufferNames(group: SGDHyperparameters): readonly string[] {
    return group.momentum !== 0 ? ['momentumBuffer'] : [];
  }

  protected override updateParameter(param: Storage, grad: Storage, state: ParameterState, group: SGDHyperparameters): void {
    sgdUpdate(param, grad, group.momentum !== 0 ? state.buffers.momentumBuffer : null, group, state.step);
  }

  protected override validateGroup(group: SGDHyperparameters, groupIndex: number): void {
    super.validateGroup(group, groupIndex);
    this.requireNonNegative(group.momentum, 'momentum', groupIndex);
    this.requireNonNegative(group.weightDecay, 'weightDecay', groupIndex);
    if (!Number.isFinite(group.dampening)) throw new QkvValueError(`SGD: dampening must be finite, got ${group.dampening} (group ${groupIndex})`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new QkvValueError(
        `SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${group.momentum} and dampening ${group.dampening} (group ${groupIndex})`,
      );
    }
  }
}
