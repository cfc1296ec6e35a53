/**
 * Mixed precision for the data-parallel workers: weights and gradients stored in 16 bits (bf16
 * or fp16; the kernels compute in fp32 on the rounded values, src/io/half.ts rounds), fp32 master
 * weights and AdamW state, and dynamic loss scaling for fp16 (torch.cuda.amp.GradScaler's rule):
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
