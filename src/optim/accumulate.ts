/**
 * Gradient accumulation: several micro-batches make one optimiser step, so a batch that does
 * not fit in memory can still be trained on.
 *
 * Gradients add up across `backward()` calls (autograd accumulates into `.grad`), so scaling
 * each micro-batch's mean loss by 1/accumulationSteps makes the sum equal the gradient of the
 * mean loss over the whole batch, provided the micro-batches are the same size.
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';

/**
 * The accumulator's saved position. Save checkpoints between optimiser steps (microSteps 0):
 * the gradients gathered part-way through a step live in `.grad`, which no state dict holds.
 */
export interface GradientAccumulatorState {
  accumulationSteps: number;
  /** Micro-batches accumulated towards the next optimiser step. */
  microSteps: number;
}

/**
 * Counts micro-batches and scales their losses.
 *
 * @example
 * const accumulator = new GradientAccumulator(4);
 * for (const microBatch of microBatches) {
 *   if (accumulator.backward(lossOf(microBatch))) {
 *     clipGradNorm(params, 1.0);
 *     optimizer.step();
 *     optimizer.zeroGrad();
 *   }
 * }
 */
export class GradientAccumulator {
  private microSteps = 0;

  constructor(readonly accumulationSteps: number) {
    if (!Number.isInteger(accumulationSteps) || accumulationSteps < 1) {
      throw new QkvValueError(`GradientAccumulator: accumulationSteps must be an integer ≥ 1, got ${accumulationSteps}`);
    }
  }

  /** The factor each micro-batch's loss is multiplied by: 1 / accumulationSteps. */
  get lossScale(): number {
    return 1 / this.accumulationSteps;
  }

  /** Micro-batches accumulated towards the next optimiser step (0 right after a step). */
  get pendingMicroSteps(): number {
    return this.microSteps;
  }

  /** `loss · lossScale`, differentiable (for callers that run backward themselves). */
  scaleLoss(loss: Tensor): Tensor {
    return this.accumulationSteps === 1 ? loss : loss.mul(this.lossScale);
  }

  /** Counts one micro-batch; true when it completes a step (time for `optimizer.step()`). */
  advance(): boolean {
    this.microSteps += 1;
    if (this.microSteps < this.accumulationSteps) return false;
    this.microSteps = 0;
    return true;
  }

  /** Backpropagates the scaled loss of one micro-batch and counts it; see `advance()`. */
  backward(loss: Tensor): boolean {
    this.scaleLoss(loss).backward();
    return this.advance();
  }

  stateDict(): GradientAccumulatorState {
    return { accumulationSteps: this.accumulationSteps, microSteps: this.microSteps };
  }

  loadStateDict(state: GradientAccumulatorState): void {
    if (state.accumulationSteps !== this.accumulationSteps) {
      throw new QkvValueError(`GradientAccumulator.loadStateDict: the state is for ${state.accumulationSteps} accumulation steps, this accumulator has ${this.accumulationSteps}`);
    }
    if (!Number.isInteger(state.microSteps) || state.microSteps < 0 || state.microSteps >= this.accumulationSteps) {
      throw new QkvValueError(`GradientAccumulator.loadStateDict: microSteps must be an integer in [0, ${this.accumulationSteps}), got ${state.microSteps}`);
    }
    this.microSteps = state.microSteps;
  }
}
