/**
 * `Conv1D`: Hugging Face's name for GPT-2's linear layer, which stores its weight transposed
 * relative to `Linear`: (in_features, out_features), so `y = x·W + b` with no transpose.
 * Using it keeps qkv's GPT-2 parameters byte-compatible with `GPT2LMHeadModel` checkpoints
 * (`c_attn.weight` is (n_embd, 3·n_embd)).
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { biasGelu } from '../tensor/ops/fused.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor } from '../tensor/tensor.ts';
import { normal_ } from './init.ts';
import { linearMatmul } from './linear16.ts';
import { Module } from './module.ts';
import { Parameter } from './parameter.ts';

export class Conv1D extends Module {
  /** (in_features, out_features): the Hugging Face GPT-2 layout. */
  weight: Parameter;
  /** (out_features). */
  bias: Parameter;

  /** Weights start normal(0, `std`) (GPT-2 uses 0.02), biases at zero. */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { std?: number; rng?: Rng } = {},
  ) {
    super();
    for (const [name, value] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new QkvValueError(`Conv1D: ${name} must be a positive integer, got ${value}`);
    }
    this.weight = new Parameter(Tensor.zeros([inFeatures, outFeatures]));
    this.bias = new Parameter(Tensor.zeros([outFeatures]));
    normal_(this.weight, 0, options.std ?? 0.02, options.rng ?? defaultRng);
  }

  /** x (*, in_features) → (*, out_features). */
  forward(x: Tensor): Tensor {
    this.checkInput(x);
    return linearMatmul(x, this.weight, 'in-out').add(this.bias);
  }

  /**
   * `forward` followed by GPT-2's tanh GELU, with the bias add fused into the activation (one
   * pass over the (…, out_features) activations instead of two). Equal to
   * `forward(x).gelu('tanh')`; wrappers of this layer (an adapter, say) override both.
   */
  forwardGelu(x: Tensor): Tensor {
    this.checkInput(x);
    return biasGelu(linearMatmul(x, this.weight, 'in-out'), this.bias);
  }

  private checkInput(x: Tensor): void {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new QkvShapeError(`Conv1D: expected input with last dimension ${this.inFeatures}, got ${formatShape(x.shape)}`);
    }
  }
}
