/**
 * Mixed precision. In the single-process trainer (src/train/trainer.ts) the Linear/Conv1D products
 * run on 16-bit operands (src/nn/linear16.ts: 16-bit GEMM, fp32 accumulate, the backward's incoming
 * gradient rounded to 16 bits too); in the data-parallel workers weights and gradients are stored
 * in 16 bits (src/io/half.ts rounds). Both keep fp32 master weights and AdamW state, and use
 * dynamic loss scaling for fp16 (torch.cuda.amp.GradScaler's rule):
 *
 *   backward of loss · S;  gradients rounded to 16 bits (fp16 overflows to ±inf past 65504);
 *   unscale by 1/S;  a non-finite gradient norm skips the step and halves S;
 *   after `growthInterval` good steps in a row S doubles.
 *
 * bf16 has fp32's exponent range, so it runs with S = 1 and no skipping (as torch autocast).
 *
 * @example
 * const scaler = new LossScaler('fp16', { initScale: 2 ** 16, growthInterval: 100 });
 * scaled = loss.mul(scaler.scale); …; scaler.update(Number.isFinite(gradNorm)); // false: skip the step
 */
import { decodeBfloat16Into, decodeFloat16Into, encodeBfloat16, encodeFloat16 } from '../io/half.ts';
import { QkvValueError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';

export type Precision = 'fp32' | 'bf16' | 'fp16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'fp16'];

/** Rounds `values` in place to the nearest `precision` value (fp32: unchanged). */
export function roundToPrecision(values: Float32Array, precision: Precision): void {
  if (precision === 'fp16') decodeFloat16Into(encodeFloat16(values), values);
  else if (precision === 'bf16') decodeBfloat16Into(encodeBfloat16(values), values);
}

export interface LossScalerOptions {
  /** Starting scale S (fp16 only; default 2^16, as GradScaler). */
  initScale: number;
  /** Good steps in a row before S doubles (default 2000, as GradScaler). */
  growthInterval: number;
}

export const LOSS_SCALER_DEFAULTS: LossScalerOptions = { initScale: 2 ** 16, growthInterval: 2000 };

export interface LossScalerState {
  scale: number;
  goodSteps: number;
  skippedSteps: number;
}

export class LossScaler {
  scale: number;
  /** Good steps since the last change of scale. */
  goodSteps = 0;
  /** Steps skipped for a non-finite gradient, in all. */
  skippedSteps = 0;
  private readonly growthInterval: number;

  constructor(
    readonly precision: Precision,
    options: Partial<LossScalerOptions> = {},
  ) {
    if (!PRECISIONS.includes(precision)) throw new QkvValueError(`precision must be one of ${PRECISIONS.join(', ')}, got "${precision}"`);
    const { initScale, growthInterval } = { ...LOSS_SCALER_DEFAULTS, ...options };
    if (!(initScale > 0 && Number.isFinite(initScale))) throw new QkvValueError(`LossScaler: initScale must be a finite number > 0, got ${initScale}`);
    if (!(Number.isInteger(growthInterval) && growthInterval > 0)) throw new QkvValueError(`LossScaler: growthInterval must be a positive integer, got ${growthInterval}`);
    this.scale = precision === 'fp16' ? initScale : 1;
    this.growthInterval = growthInterval;
  }

  /** Whether this precision scales the loss at all (fp16). */
  get dynamic(): boolean {
    return this.precision === 'fp16';
  }

  /**
   * Records a step's outcome: `finite` false means the step was skipped (the caller must not
   * apply it) and the scale halves; otherwise, every `growthInterval` good steps it doubles.
   * Returns whether the step may be applied.
   */
  update(finite: boolean): boolean {
    if (!finite) {
      this.skippedSteps++;
      this.goodSteps = 0;
      if (this.dynamic) this.scale /= 2;
      return false;
    }
    this.goodSteps++;
    if (this.dynamic && this.goodSteps >= this.growthInterval) {
      this.scale *= 2;
      this.goodSteps = 0;
    }
    return true;
  }

  state(): LossScalerState {
    return { scale: this.scale, goodSteps: this.goodSteps, skippedSteps: this.skippedSteps };
  }

  loadState(state: LossScalerState): void {
    this.scale = state.scale;
    this.goodSteps = state.goodSteps;
    this.skippedSteps = state.skippedSteps;
  }
}

/**
 * Divides every gradient by the loss scale in place (GradScaler.unscale_), before clipping and the
 * finiteness check; a gradient that is a view is replaced by a contiguous copy first, so no other
 * tensor's values change.
 */
export function unscaleGradients(params: Iterable<Tensor>, scale: number): void {
  if (!(scale > 0 && Number.isFinite(scale))) throw new QkvValueError(`unscaleGradients: scale must be a finite number > 0, got ${scale}`);
  if (scale === 1) return;
  const inverse = 1 / scale; // a power of two: the product is exact unless it underflows
  for (const param of params) {
    if (param.grad === null) continue;
    if (!param.grad.isContiguous() || param.grad.offset !== 0 || param.grad.data.length !== param.grad.size) param.grad = param.grad.contiguousCopy();
    const values = param.grad.data;
    for (let i = 0; i < values.length; i++) values[i] *= inverse;
  }
}
