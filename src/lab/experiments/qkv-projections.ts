/**
 * `qkv lab qkv-projections`: why three different projections W_q, W_k, W_v and not one.
 *
 * Both variants go through the same attention core (`scaledDotProductAttention`) on the
 * associative-recall task (recall-task.ts) with the 'successor' relation: query key a must
 * read the slot whose key is a + 1, while a slot with key a itself is present. The only
 * difference is whether query, keys and values come from separate learned matrices or one
 * shared W (Q = xW, K = sW, V = sW). Shared, the score ⟨Wx_a, Wx_b⟩ is a symmetric positive
 * semi-definite form: by Cauchy–Schwarz the query matches its own key at least as well as
 * its successor's unless ‖Wx_{a+1}‖ > ‖Wx_a‖, impossible all around the cycle a → a+1 → … → a.
 *
 * Legend: B = batch, S = slots, C = width.
 */
import { scaledDotProductAttention } from '../../nn/attention.ts';
import { Linear } from '../../nn/linear.ts';
import { Module } from '../../nn/module.ts';
import { Rng } from '../../tensor/random.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { listParam, numberParam, type Experiment, type ExperimentResult } from '../experiment.ts';
import { RecallModel, tailMean, trainRecall, type AttentionReader, type RecallTask } from './recall-task.ts';

export type ProjectionKind = 'separate' | 'shared';

export class ProjectionReader extends Module implements AttentionReader {
  q_proj: Linear;
  k_proj: Linear | null;
  v_proj: Linear | null;
  o_proj: Linear;
  constructor(kind: ProjectionKind, width: number, rng: Rng) {
    super();
    this.q_proj = new Linear(width, width, { rng });
    this.k_proj = kind === 'separate' ? new Linear(width, width, { rng }) : null;
    this.v_proj = kind === 'separate' ? new Linear(width, width, { rng }) : null;
    this.o_proj = new Linear(width, width, { rng });
  }
  read(query: Tensor, slots: Tensor): Tensor {
    const q = this.q_proj.forward(query).unsqueeze(1); // (B, 1, 1, C): one head
    const k = (this.k_proj ?? this.q_proj).forward(slots).unsqueeze(1); // (B, 1, S, C)
    const v = (this.v_proj ?? this.q_proj).forward(slots).unsqueeze(1); // (B, 1, S, C)
    const { output } = scaledDotProductAttention(q, k, v);
    return this.o_proj.forward(output.squeeze(1)); // (B, 1, C)
  }
}

export const qkvProjectionsExperiment: Experiment = {
  name: 'qkv-projections',
  description: 'separate W_q, W_k, W_v vs one shared projection (Q = K = V) when a query must find a key other than itself',
  params: [
    { name: 'kinds', description: 'variants', default: 'separate,shared' },
    { name: 'width', description: 'width C', default: 32 },
    { name: 'slots', description: 'recall slots per example', default: 8 },
    { name: 'keys', description: 'distinct keys', default: 16 },
    { name: 'values', description: 'distinct values', default: 8 },
    { name: 'steps', description: 'training steps per variant', default: 400, quick: 150 },
    { name: 'batch', description: 'examples per step', default: 32 },
    { name: 'lr', description: 'Adam learning rate', default: 0.01 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const width = numberParam(params, 'width');
    const task: RecallTask = { keys: numberParam(params, 'keys'), values: numberParam(params, 'values'), slots: numberParam(params, 'slots'), queries: 1, relation: 'successor' };
    const kinds = listParam(params, 'kinds') as ProjectionKind[];
    const runs = kinds.map((kind, index) => {
      const run = trainRecall(new RecallModel(task, width, new ProjectionReader(kind, width, new Rng(seed)), new Rng(seed)), { steps: numberParam(params, 'steps'), batch: numberParam(params, 'batch'), lr: numberParam(params, 'lr'), seed });
      onProgress(index + 1, kinds.length, { kind });
      return { kind, ...run };
    });
    const window = Math.max(1, Math.floor(numberParam(params, 'steps') / 30));
    return {
      columns: ['projections', 'attention parameters', 'recall accuracy', 'final loss'],
      rows: runs.map((run) => [run.kind, run.parameters, run.accuracy, tailMean(run.losses)]),
      plot: {
        title: 'training loss on associative recall', xLabel: 'step', yLabel: 'cross-entropy', kind: 'line',
        series: runs.map((run) => ({ name: run.kind, points: run.losses.flatMap((_, i) => (i % window === window - 1 ? [[i + 1, run.losses.slice(i - window + 1, i + 1).reduce((a, b) => a + b, 0) / window] as [number, number]] : [])) })),
      },
      findings: [`Recall accuracy: ${runs.map((run) => `${run.kind} ${run.accuracy.toFixed(3)} (${run.parameters} parameters)`).join(', ')}; chance ${(1 / task.values).toFixed(3)}.`],
    };
  },
};
