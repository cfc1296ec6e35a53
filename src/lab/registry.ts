/**
 * Every lab experiment by name, in the order `qkv lab --list` shows them.
 *
 * @example
 * const experiment = findExperiment('scaling');
 */
import { QkvValueError } from '../tensor/errors.ts';
import type { Experiment } from './experiment.ts';
import { attentionKindExperiment } from './experiments/attention-kind.ts';
import { calibrationExperiment } from './experiments/calibration.ts';
import { embeddingsSumExperiment } from './experiments/embeddings-sum.ts';
import { headsExperiment } from './experiments/heads.ts';
import { loraRankExperiment } from './experiments/lora-rank.ts';
import { maskExperiment } from './experiments/mask.ts';
import { normExperiment } from './experiments/norm.ts';
import { parallelExperiment } from './experiments/parallel.ts';
import { quantizeExperiment } from './experiments/quantize.ts';
import { qkvProjectionsExperiment } from './experiments/qkv-projections.ts';
import { positionsExperiment } from './experiments/positions.ts';
import { residualExperiment } from './experiments/residual.ts';
import { rewardHackingExperiment } from './experiments/reward-hacking.ts';
import { samplingExperiment } from './experiments/sampling.ts';
import { scalingExperiment } from './experiments/scaling.ts';
import { seq2seqBottleneckExperiment } from './experiments/seq2seq-bottleneck.ts';
import { softmaxExperiment } from './experiments/softmax.ts';
import { vocabExperiment } from './experiments/vocab.ts';

export const EXPERIMENTS: readonly Experiment[] = [
  scalingExperiment,
  maskExperiment,
  normExperiment,
  residualExperiment,
  positionsExperiment,
  samplingExperiment,
  vocabExperiment,
  attentionKindExperiment,
  headsExperiment,
  qkvProjectionsExperiment,
  softmaxExperiment,
  embeddingsSumExperiment,
  seq2seqBottleneckExperiment,
  loraRankExperiment,
  quantizeExperiment,
  parallelExperiment,
  rewardHackingExperiment,
  calibrationExperiment,
];

export function findExperiment(name: string): Experiment {
  const experiment = EXPERIMENTS.find((candidate) => candidate.name === name);
  if (!experiment) throw new QkvValueError(`lab: no experiment '${name}' (have ${EXPERIMENTS.map((e) => e.name).join(', ')})`);
  return experiment;
}
