/**
 * The optimiser flags every training command shares (`--steps`, `--batch-size`, `--lr`, …) and
 * their one mapping onto `TrainConfig`, so `qkv train` and `qkv finetune` read them alike.
 */
import type { TrainConfig } from '../train/trainer.ts';

export interface TrainingFlags {
  steps?: number;
  batchSize?: number;
  blockSize?: number;
  gradAccum?: number;
  lr?: number;
  warmup?: number;
  evalInterval?: number;
  checkpointInterval?: number;
  seed?: number;
}

/** Only the flags given: the command's own defaults fill the rest. `--lr` also sets the floor to lr/10. */
export function trainConfigFromFlags(flags: TrainingFlags): Partial<TrainConfig> {
  const train: Partial<TrainConfig> = {};
  if (flags.steps !== undefined) train.steps = flags.steps;
  if (flags.batchSize !== undefined) train.batchSize = flags.batchSize;
  if (flags.blockSize !== undefined) train.blockSize = flags.blockSize;
  if (flags.gradAccum !== undefined) train.gradientAccumulationSteps = flags.gradAccum;
  if (flags.lr !== undefined) {
    train.learningRate = flags.lr;
    train.minLearningRate = flags.lr / 10;
  }
  if (flags.warmup !== undefined) train.warmupSteps = flags.warmup;
  if (flags.evalInterval !== undefined) train.evalInterval = flags.evalInterval;
  if (flags.checkpointInterval !== undefined) train.checkpointInterval = flags.checkpointInterval;
  if (flags.seed !== undefined) train.seed = flags.seed;
  return train;
}
