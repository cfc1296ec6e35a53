/**
 * `QuantizedLinear`: a Linear or GPT-2 Conv1D whose weight is kept as packed Q8_0 / Q4_0 /
 * Q4_G128 blocks (./formats.ts) and multiplied on them directly (./qmatmul.ts). Inference only:
 * the weight has no gradient, and a forward that would need one is refused.
 *
 * The packed weight is (out_features, in_features) whichever layer it came from, blocks running
 * along in_features (ggml's layout), so a Conv1D's (in, out) weight is transposed once when
 * quantised. The bias stays float32 (a Parameter, so it is in the state dict under its HF name).
 *
 * @example
 * const q = QuantizedLinear.fromConv1D(block.mlp.c_fc, 'q8_0');
 * model.setSubmodule('transformer.h.0.mlp.c_fc', q);
 */
import { isGradEnabled } from '../tensor/autograd.ts';
import { QkvShapeError, QkvValueError, formatShape } from '../tensor/errors.ts';
import { biasGelu } from '../tensor/ops/fused.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Conv1D } from '../nn/conv1d.ts';
import type { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { Parameter } from '../nn/parameter.ts';
import { quantizeMatrix, quantizedRowBytes, type QuantFormat, type QuantizedMatrix } from './formats.ts';
import { qmatmul } from './qmatmul.ts';

/** Which layer a QuantizedLinear replaces: it decides how the weight is saved back as floats. */
export type QuantizedLayerKind = 'linear' | 'conv1d';

export class QuantizedLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** The packed (out_features, in_features) weight; not a Parameter (no gradient, not float). */
  readonly qweight: QuantizedMatrix;
  /** (out_features), or null without bias. */
  bias: Parameter | null;

  constructor(qweight: QuantizedMatrix, bias: Tensor | null, readonly kind: QuantizedLayerKind) {
    super();
    quantizedRowBytes(qweight.format, qweight.cols, 'weight');
    if (qweight.data.length !== qweight.rows * quantizedRowBytes(qweight.format, qweight.cols)) {
      throw new QkvValueError(`QuantizedLinear: ${qweight.format} weight (${qweight.rows}, ${qweight.cols}) needs ${qweight.rows * quantizedRowBytes(qweight.format, qweight.cols)} bytes, got ${qweight.data.length}`);
    }
    if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== qweight.rows)) {
      throw new QkvShapeError(`QuantizedLinear: bias must be (${qweight.rows}), got ${formatShape(bias.shape)}`);
    }
    this.inFeatures = qweight.cols;
    this.outFeatures = qweight.rows;
    this.qweight = qweight;
    this.bias = bias === null ? null : new Parameter(bias.detach().contiguousCopy().to('float32'), { requiresGrad: false });
  }

  get format(): QuantFormat {
    return this.qweight.format;
  }

  /** Quantises a `Linear` (weight (out, in), already ggml's row layout). */
  static fromLinear(linear: Linear, format: QuantFormat): QuantizedLinear {
    const weight = linear.weight.contiguousData();
    return new QuantizedLinear(quantizeMatrix(format, weight, linear.outFeatures, linear.inFeatures), linear.bias, 'linear');
  }

  /** Quantises a GPT-2 `Conv1D` (weight (in, out): transposed to (out, in) first). */
  static fromConv1D(conv: Conv1D, format: QuantFormat): QuantizedLinear {
    const transposed = conv.weight.transpose(0, 1).contiguousData(); // (out, in)
    return new QuantizedLinear(quantizeMatrix(format, transposed, conv.outFeatures, conv.inFeatures), conv.bias, 'conv1d');
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, format=${this.format}, bias=${this.bias !== null}`;
  }

  /** Bytes the packed weight and the float bias take. */
  get sizeBytes(): number {
    return this.qweight.data.byteLength + (this.bias === null ? 0 : this.bias.size * 4);
  }

  /** x·Wᵀ (*, out_features) without the bias. */
  private matmul(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new QkvShapeError(`QuantizedLinear: expected input with last dimension ${this.inFeatures}, got ${formatShape(x.shape)}`);
    }
    if (isGradEnabled() && x.requiresGrad) {
      throw new QkvValueError('QuantizedLinear: quantised layers are inference-only (no gradient); run the model inside noGrad()');
    }
    const data = x.contiguousData();
    const input = data instanceof Float32Array ? data : Float32Array.from(data);
    const M = input.length / this.inFeatures;
    const out = qmatmul(input, M, this.qweight); // (M, N)
    return new Tensor(out, [...x.shape.slice(0, -1), this.outFeatures]);
  }

  /** x (*, in_features) → (*, out_features). */
  forward(x: Tensor): Tensor {
    const out = this.matmul(x);
    return this.bias === null ? out : out.add(this.bias);
  }

  /** As Conv1D.forwardGelu: the tanh GELU of forward(x), bias fused (GPT-2's MLP calls it). */
  forwardGelu(x: Tensor): Tensor {
    const out = this.matmul(x);
    return this.bias === null ? out.gelu('tanh') : biasGelu(out, this.bias);
  }
}
