/**
 * Learning-rate schedules, as pure functions of the step, and `LRScheduler`, which sets an
 * optimiser's learning rate from one each step and saves its position for resume.
 *
 * `step` counts optimiser steps already taken: the first update uses `lrAt(0)`. Warm-up
 * rises linearly, `maxLr·(step + 1)/warmupSteps`, so the first step already moves (PyTorch's
 * LambdaLR warm-ups start at 0 and waste it) and step `warmupSteps − 1` is the first at
 * `maxLr`; decay then runs from `maxLr` at `warmupSteps` to `minLr` at `totalSteps`, and the
 * rate stays at `minLr` after that (nanoGPT's `get_lr`).
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Hyperparameters, Optimizer } from './optimizer.ts';

/** The learning rate for a step (optimiser steps already taken, from 0). */
export type LRSchedule = (step: number) => number;

export interface WarmupDecayOptions {
  /** The peak rate, reached at the end of warm-up. */
  maxLr: number;
  /** The floor the decay ends at (default 0; nanoGPT uses maxLr / 10). */
  minLr?: number;
  /** Steps of linear warm-up (0 for none). */
  warmupSteps: number;
  /** The step at which the decay reaches minLr. */
  totalSteps: number;
}

/** The same rate at every step. */
export function constantSchedule(lr: number): LRSchedule {
  requireRate('constantSchedule', 'lr', lr);
  return () => lr;
}

/**
 * Linear warm-up, then cosine decay: lr = minLr + ½·(1 + cos(π·progress))·(maxLr − minLr).
 * @example const lrAt = warmupCosineSchedule({ maxLr: 6e-4, minLr: 6e-5, warmupSteps: 2000, totalSteps: 600_000 });
 */
export function warmupCosineSchedule(options: WarmupDecayOptions): LRSchedule {
  return warmupThenDecay('warmupCosineSchedule', options, (progress) => 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Linear warm-up, then linear decay: lr = maxLr − progress·(maxLr − minLr). */
export function warmupLinearSchedule(options: WarmupDecayOptions): LRSchedule {
  return warmupThenDecay('warmupLinearSchedule', options, (progress) => 1 - progress);
}

/** `shape(progress)` goes from 1 at progress 0 to 0 at progress 1. */
function warmupThenDecay(name: string, options: WarmupDecayOptions, shape: (progress: number) => number): LRSchedule {
  const { maxLr, warmupSteps, totalSteps } = options;
  const minLr = options.minLr ?? 0;
  requireRate(name, 'maxLr', maxLr);
  requireRate(name, 'minLr', minLr);
  if (minLr > maxLr) throw new QkvValueError(`${name}: minLr ${minLr} is above maxLr ${maxLr}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new QkvValueError(`${name}: warmupSteps must be an integer ≥ 0, got ${warmupSteps}`);
  if (!Number.isInteger(totalSteps) || totalSteps < warmupSteps) {
    throw new QkvValueError(`${name}: totalSteps must be an integer ≥ warmupSteps (${warmupSteps}), got ${totalSteps}`);
  }
  return (step) => {
    requireStep(name, step);
    if (step < warmupSteps) return (maxLr * (step + 1)) / warmupSteps;
    if (step >= totalSteps) return minLr;
    const progress = (step - warmupSteps) / (totalSteps - warmupSteps);
    return minLr + shape(progress) * (maxLr - minLr);
  };
}

/** The scheduler's saved position. */
export interface LRSchedulerState {
  step: number;
}

/**
 * Sets every group's learning rate from a schedule (one for all groups, or one per group).
 * It sets the rate for step 0 on construction; call `step()` after each `optimizer.step()`.
 *
 * @example
 * const scheduler = new LRScheduler(optimizer, warmupCosineSchedule({ maxLr: 1e-3, warmupSteps: 100, totalSteps: 5000 }));
 * for (...) { loss.backward(); optimizer.step(); optimizer.zeroGrad(); scheduler.step(); }
 */
export class LRScheduler {
  private readonly schedules: readonly LRSchedule[];
  private stepCount = 0;

  constructor(
    private readonly optimizer: Optimizer<Hyperparameters>,
    schedule: LRSchedule | readonly LRSchedule[],
  ) {
    const groups = optimizer.paramGroups.length;
    if (typeof schedule === 'function') {
      this.schedules = new Array<LRSchedule>(groups).fill(schedule);
    } else {
      if (schedule.length !== groups) {
        throw new QkvValueError(`LRScheduler: got ${schedule.length} schedules for ${groups} parameter groups`);
      }
      this.schedules = [...schedule];
    }
    this.apply();
  }

  /** Optimiser steps taken so far (the schedule's current step). */
  get currentStep(): number {
    return this.stepCount;
  }

  /** The learning rate each group has now. */
  get lrs(): number[] {
    return this.optimizer.paramGroups.map((group) => group.lr);
  }

  /** Advances one step and sets the learning rates for it. */
  step(): void {
    this.stepCount += 1;
    this.apply();
  }

  stateDict(): LRSchedulerState {
    return { step: this.stepCount };
  }

  /** Restores the position and sets the learning rates for it (schedules are pure, so this is exact). */
  loadStateDict(state: LRSchedulerState): void {
    requireStep('LRScheduler.loadStateDict', state.step);
    this.stepCount = state.step;
    this.apply();
  }

  private apply(): void {
    this.schedules.forEach((schedule, groupIndex) => this.optimizer.setLr(schedule(this.stepCount), groupIndex));
  }
}

function requireRate(name: string, field: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) throw new QkvValueError(`${name}: ${field} must be a finite number ≥ 0, got ${value}`);
}

function requireStep(name: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) throw new QkvValueError(`${name}: step must be an integer ≥ 0, got ${step}`);
}
