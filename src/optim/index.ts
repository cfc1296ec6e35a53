/**
 * Optimisation: optimisers over parameter groups, learning-rate schedules, gradient clipping
 * and gradient accumulation. Each optimiser's update is a plain function over typed arrays
 * (`sgdUpdate`, `adamUpdate`, `rmspropUpdate`) beside its class.
 */
export { Optimizer, withDefaults } from './optimizer.ts';
export type { Hyperparameters, OptimizerStateDict, ParamGroup, ParamGroupOptions, ParameterState } from './optimizer.ts';
export { SGD, SGD_DEFAULTS, sgdUpdate } from './sgd.ts';
export type { SGDHyperparameters } from './sgd.ts';
export { Adam, AdamW, ADAM_DEFAULTS, ADAMW_DEFAULTS, adamUpdate } from './adam.ts';
export type { AdamHyperparameters } from './adam.ts';
export { RMSProp, RMSPROP_DEFAULTS, rmspropUpdate } from './rmsprop.ts';
export type { RMSPropHyperparameters } from './rmsprop.ts';
export { LRScheduler, constantSchedule, warmupCosineSchedule, warmupLinearSchedule } from './schedule.ts';
export type { LRSchedule, LRSchedulerState, WarmupDecayOptions } from './schedule.ts';
export { clipGradNorm, gradNorm } from './clip.ts';
export { GradientAccumulator } from './accumulate.ts';
export type { GradientAccumulatorState } from './accumulate.ts';
