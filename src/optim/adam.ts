/**
 * Adam and AdamW: bias-corrected first and second moment estimates. They differ only in how
 * weight decay enters, so one update serves both.
 *
 * reference: torch.optim.Adam / torch.optim.AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019):
 *   Adam:  g ← ∇ + λ·p                  (L2 penalty, added to the gradient and so rescaled by v)
 *   AdamW: p ← p − η·λ·p                (decoupled: shrinks the weight directly, whatever v is)
 *   m ← β₁·m + (1 − β₁)·g
 *   v ← β₂·v + (1 − β₂)·g²
 *   p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
 */
import { adamUpdate as adamKernel } from '../kernels/index.ts';
import { Optimizer, withDefaults, type Hyperparameters, type ParamGroupOptions, type ParameterState } from './optimizer.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Storage, Tensor } from '../tensor/tensor.ts';

export interface AdamHyperparameters extends Hyperparameters {
  /** η. */
  lr: number;
  /** [β₁, β₂]: decay rates of the first and second moment estimates. */
  betas: [number, number];
  /** ε, added to the denominator for numerical stability. */
  eps: number;
  /** λ: an L2 penalty for Adam, a decoupled decay for AdamW. */
  weightDecay: number;
}

/** torch.optim.Adam's defaults. */
export const ADAM_DEFAULTS: AdamHyperparameters = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 };

/** torch.optim.AdamW's defaults (the same as Adam's but λ = 0.01). */
export const ADAMW_DEFAULTS: AdamHyperparameters = { ...ADAM_DEFAULTS, betas: [0.9, 0.999], weightDecay: 1e-2 };

/**
 * One Adam step over raw arrays, in place; `step` counts from 1 (it sets the bias correction).
 * With `decoupledWeightDecay` it is AdamW's step, otherwise Adam's.
 */
export function adamUpdate(
  param: Storage,
  grad: Storage,
  expAvg: Storage,
  expAvgSq: Storage,
  hyper: AdamHyperparameters,
  step: number,
  decoupledWeightDecay: boolean,
): void {
  const { lr, eps, weightDecay } = hyper;
  const [beta1, beta2] = hyper.betas;
  const l2Penalty = decoupledWeightDecay ? 0 : weightDecay;
  const keep = decoupledWeightDecay ? 1 - lr * weightDecay : 1;
  const stepSize = lr / (1 - beta1 ** step);
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
  // float32 on the kernel backend; float64 on the reference (src/kernels/reference/adam.ts).
  adamKernel(param, grad, expAvg, expAvgSq, { beta1, beta2, l2Penalty, keep, stepSize, biasCorrection2Sqrt, eps });
}

/**
 * Adam with L2 weight decay added to the gradient, as torch.optim.Adam.
 * @example const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
 */
export class Adam extends Optimizer<AdamHyperparameters> {
  /** False: λ·p is added to the gradient (Adam). AdamW sets it. */
  protected readonly decoupledWeightDecay: boolean = false;

  constructor(params: readonly Tensor[] | readonly ParamGroupOptions<AdamHyperparameters>[], options: Partial<AdamHyperparameters> = {}) {
    super(params, withDefaults(ADAM_DEFAULTS, options));
  }

  protected override bufferNames(): readonly string[] {
    return ['expAvg', 'expAvgSq'];
  }

  protected override updateParameter(param: Storage, grad: Storage, state: ParameterState, group: AdamHyperparameters): void {
    adamUpdate(param, grad, state.buffers.expAvg, state.buffers.expAvgSq, group, state.step, this.decoupledWeightDecay);
  }

  protected override validateGroup(group: AdamHyperparameters, groupIndex: number): void {
    super.validateGroup(group, groupIndex);
    if (!Array.isArray(group.betas) || group.betas.length !== 2) {
      throw new QkvValueError(`${this.constructor.name}: betas must be [beta1, beta2], got ${JSON.stringify(group.betas)} (group ${groupIndex})`);
    }
    this.requireUnitInterval(group.betas[0], 'betas[0]', groupIndex);
    this.requireUnitInterval(group.betas[1], 'betas[1]', groupIndex);
    this.requireNonNegative(group.eps, 'eps', groupIndex);
    this.requireNonNegative(group.weightDecay, 'weightDecay', groupIndex);
  }
}

/**
 * Adam with decoupled weight decay (p ← p − η·λ·p), as torch.optim.AdamW. Pass biases and
 * norm gains in a group with `weightDecay: 0`.
 * @example
 * const optimizer = new AdamW([{ params: weights }, { params: biases, weightDecay: 0 }], { lr: 3e-4, weightDecay: 0.1 });
 */
export class AdamW extends Adam {
  protected override readonly decoupledWeightDecay: boolean = true;

  constructor(params: readonly Tensor[] | readonly ParamGroupOptions<AdamHyperparameters>[], options: Partial<AdamHyperparameters> = {}) {
    super(params, withDefaults(ADAMW_DEFAULTS, options));
  }
}
