/**
 * `qkv lab heads`: one head vs several at the same parameter count.
 *
 * `MultiHeadAttention` with C = width has 4·C² + 4·C parameters however many heads it has
 * (each head gets C/NH dimensions). The task asks for two keys at once (recall-task.ts with
 * `queries: 2`): a single softmax must split its weight between the two slots and blend
 * their values, while separate heads can each attend to one slot. Reported: accuracy, loss,
 * parameters and, per head, how much of its weight goes to each of the two asked slots; and,
 * per trained model, a figure of each head's attention over the slots (`figures`).
 *
 * Legend: B = batch, S = slots, NH = heads.
 */
import { noGrad } from '../../tensor/autograd.ts';
import { Rng } from '../../tensor/random.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { renderWeightGridSvg, type WeightGridPanel } from '../heatmap-svg.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult, type LabFigure } from '../experiment.ts';
import { DotReader } from './attention-kind.ts';
import { RecallModel, recallBatch, tailMean, trainRecall, type RecallBatch, type RecallTask } from './recall-task.ts';

/** A figure beside the plot (an SVG document), for the docs and the HTML report. */
export type { LabFigure };

/** The result of `heads`: the table and plot, and per trained model a figure of what each head attends to. */
export interface HeadsResult extends ExperimentResult {
  figures: LabFigure[];
}

/** Runs the model on `batch` and returns the reader's (B, NH, 1, S) attention weights. */
function readerWeights(model: RecallModel, reader: DotReader, batch: RecallBatch): Tensor {
  return noGrad(() => {
    reader.attn.attentionWeights = null;
    const original = reader.read.bind(reader);
    reader.read = (query, slots) => reader.attn.forward(query, { context: slots, returnWeights: true });
    try {
      model.forward(batch);
    } finally {
      reader.read = original;
    }
    return reader.attn.attentionWeights!;
  });
}

/**
 * Mean over heads of |w(slot a) − w(slot b)| / (w(a) + w(b)): 0 when every head blends the two
 * asked slots equally, 1 when each head picks one of them.
 */
export function headSpecialisation(model: RecallModel, reader: DotReader, task: RecallTask, seed: number): number {
  const batch = recallBatch(task, 128, new Rng(seed + 3));
  const weights = readerWeights(model, reader, batch); // (B, NH, 1, S)
  const [B, NH, , S] = weights.shape;
  const w = weights.contiguousData();
  let total = 0;
  for (let b = 0; b < B; b++) {
    const asked = [0, 1].map((q) => batch.slotKeys.subarray(b * S, (b + 1) * S).indexOf(batch.queryKeys[b * 2 + q]));
    for (let h = 0; h < NH; h++) {
      const wa = w[(b * NH + h) * S + asked[0]];
      const wb = w[(b * NH + h) * S + asked[1]];
      total += Math.abs(wa - wb) / Math.max(wa + wb, 1e-12);
    }
  }
  return total / (B * NH);
}

/** Slots of example b: the two asked ones first (in asking order), then the others in slot order. */
function slotOrder(batch: RecallBatch, b: number, S: number): number[] {
  const keys = Array.from(batch.slotKeys.subarray(b * S, (b + 1) * S));
  const asked = [0, 1].map((q) => keys.indexOf(batch.queryKeys[b * 2 + q]));
  return [...asked, ...keys.map((_, s) => s).filter((s) => !asked.includes(s))];
}

/**
 * What each head attends to, for `examples` held-out examples: one panel per head, a row per
 * example (its two asked keys), a column per slot with the two asked slots first.
 */
export function headAttentionFigure(model: RecallModel, reader: DotReader, task: RecallTask, seed: number, examples = 8): LabFigure {
  const batch = recallBatch(task, examples, new Rng(seed + 5));
  const weights = readerWeights(model, reader, batch); // (B, NH, 1, S)
  const [B, NH, , S] = weights.shape;
  const panels: WeightGridPanel[] = Array.from({ length: NH }, (_, h) => ({
    title: `head ${h}`,
    weights: Array.from({ length: B }, (_, b) => slotOrder(batch, b, S).map((s) => weights.get(b, h, 0, s))),
  }));
  const columnLabels = ['1st asked', '2nd asked', ...Array.from({ length: S - 2 }, (_, i) => `other ${i + 1}`)];
  const rowLabels = Array.from({ length: B }, (_, b) => `asks k${batch.queryKeys[b * 2]}, k${batch.queryKeys[b * 2 + 1]}`);
  const title = `${NH} head${NH === 1 ? '' : 's'}: where each head's weight goes`;
  return {
    name: `attention-${NH}-heads`,
    title,
    svg: renderWeightGridSvg({ title, rowLabels, columnLabels, panels, caption: 'attention weight (row: an example; column: a slot, the two asked first; rows sum to 1)' }),
  };
}

export const headsExperiment: Experiment = {
  name: 'heads',
  description: 'one vs 2/4/8 attention heads at equal parameter count on a two-key recall task, and whether heads specialise',
  params: [
    { name: 'heads', description: 'head counts to compare', default: '1,2,4,8', quick: '1,4' },
    { name: 'width', description: 'width C (divisible by every head count)', default: 32 },
    { name: 'slots', description: 'recall slots per example', default: 8 },
    { name: 'keys', description: 'distinct keys', default: 16 },
    { name: 'values', description: 'distinct values', default: 8 },
    { name: 'steps', description: 'training steps per head count', default: 500, quick: 200 },
    { name: 'batch', description: 'examples per step', default: 32 },
    { name: 'lr', description: 'Adam learning rate', default: 0.01 },
  ],
  run(params, { seed, onProgress }): HeadsResult {
    const width = numberParam(params, 'width');
    const task: RecallTask = { keys: numberParam(params, 'keys'), values: numberParam(params, 'values'), slots: numberParam(params, 'slots'), queries: 2 };
    const headCounts = numberListParam(params, 'heads');
    const rows: ExperimentResult['rows'] = [];
    const accuracy: Array<[number, number]> = [];
    const figures: LabFigure[] = [];
    headCounts.forEach((heads, index) => {
      const reader = new DotReader(width, heads, new Rng(seed));
      const model = new RecallModel(task, width, reader, new Rng(seed));
      const run = trainRecall(model, { steps: numberParam(params, 'steps'), batch: numberParam(params, 'batch'), lr: numberParam(params, 'lr'), seed });
      rows.push([heads, width / heads, run.parameters, run.accuracy, tailMean(run.losses), headSpecialisation(model, reader, task, seed)]);
      accuracy.push([index, run.accuracy]);
      figures.push(headAttentionFigure(model, reader, task, seed));
      onProgress(index + 1, headCounts.length, { heads });
    });
    return {
      columns: ['heads', 'head size', 'attention parameters', 'two-key recall accuracy', 'final loss', 'head specialisation (0 blend … 1 pick one)'],
      rows,
      plot: { title: 'two-key recall accuracy at equal parameter count', xLabel: 'heads', yLabel: 'accuracy', kind: 'bar', categories: headCounts.map(String), series: [{ name: 'accuracy', points: accuracy }] },
      figures,
      findings: [`Accuracy by heads: ${rows.map((row) => `${row[0]} → ${(row[3] as number).toFixed(3)}`).join(', ')}, all with ${rows[0][2]} attention parameters.`],
    };
  },
};
