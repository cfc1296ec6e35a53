/**
 * `Linear`: y = x·Wᵀ + b over the last axis, PyTorch's `nn.Linear`.
 *
 * The weight is stored (out_features, in_features), PyTorch's layout, so state dicts load
 * unchanged; forward multiplies by a transposed view of it (no copy). (Hugging Face's GPT-2
 * stores `Conv1D` weights the other way round, (in, out): the model's loader transposes those.)
 *
 * Initialisation matches PyTorch's: weight ~ U(−1/√in, 1/√in) (kaiming uniform with a = √5)
 * and bias ~ U(−1/√in, 1/√in).
 *
 * @example
 * const proj = new Linear(768, 3 * 768, { rng: new Rng(0) });
 * const qkv = proj.forward(x); // (B, T, 768) → (B, T, 2304)
 */
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { defaultRng, type Rng } from '../tensor/random.ts';
import { Tensor, type DType } from '../tensor/tensor.ts';
import { fanInAndFanOut, kaimingUniform_, uniform_ } from './init.ts';
import { linearMatmul } from './linear16.ts';
import { Module } from './module.ts';
import { Parameter } from './parameter.ts';

export interface LinearOptions {
  /** Learn an additive bias (default true; GPT-2 has one, Llama does not). */
  bias?: boolean;
  /** Generator for the initial weights (default: the global seeded one). */
  rng?: Rng;
  dtype?: DType;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** (out_features, in_features). */
  weight: Parameter;
  /** (out_features), or null without bias. */
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, value] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new QkvValueError(`Linear: ${name} must be a positive integer, got ${value}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = options.rng ?? defaultRng;
    const dtype = options.dtype ?? 'float32';
    this.weight = new Parameter(Tensor.zeros([outFeatures, inFeatures], { dtype }));
    this.bias = options.bias ?? true ? new Parameter(Tensor.zeros([outFeatures], { dtype })) : null;
    this.resetParameters(rng);
  }

  /** PyTorch's default initialisation (see the class comment). */
  resetParameters(rng: Rng = defaultRng): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5), rng });
    if (this.bias !== null) {
      const bound = 1 / Math.sqrt(fanInAndFanOut(this.weight).fanIn);
      uniform_(this.bias, -bound, bound, rng);
    }
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }

  /** x (*, in_features) → (*, out_features). */
  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new QkvShapeError(
        `Linear: expected input with last dimension ${this.inFeatures} (in_features), got ${formatShape(x.shape)}`,
      );
    }
    const out = linearMatmul(x, this.weight, 'out-in'); // (*, in) · (in, out) → (*, out); 16-bit under setLinearPrecision
    return this.bias === null ? out : out.add(this.bias);
  }
}
