/**
 * `qkv lab norm`: why transformers normalise each token (LayerNorm, RMSNorm) and not across
 * the batch (BatchNorm).
 *
 * Task: each token carries a fixed random feature vector times a per-sequence scale
 * (e^U(−2, 2), so the loudness of a sequence is noise); the label is the token's class. Batches
 * are small and padded to the longest sequence: padded positions are zero vectors, and
 * BatchNorm — run over the (B·T, C) rows as a naive implementation does — counts them in its
 * statistics. The model is norm → Linear → ReLU → Linear, trained with each norm (or none)
 * on the same batches. Reported: loss curves, held-out loss in eval mode, and for BatchNorm the
 * train/eval mismatch (the same held-out batch through batch statistics vs running ones).
 *
 * Legend: B = batch, T = padded length, C = features, K = classes.
 */
import { BatchNorm1d, LayerNorm, RMSNorm } from '../../nn/norm.ts';
import { Linear } from '../../nn/linear.ts';
import { Module } from '../../nn/module.ts';
import { Adam } from '../../optim/adam.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { listParam, numberParam, type Experiment, type ExperimentResult, type Series } from '../experiment.ts';

export type NormKind = 'layernorm' | 'rmsnorm' | 'batchnorm' | 'none';
export const NORM_KINDS: readonly NormKind[] = ['layernorm', 'rmsnorm', 'batchnorm', 'none'];
const IGNORE = -100;

export interface NormTask {
  vocab: number;
  classes: number;
  features: number;
  maxLength: number;
  batch: number;
  /** (V, C) fixed token features. */
  table: Float32Array;
}

/** A padded batch: x (B, T, C) with zero rows at padding, targets (B·T) with −100 at padding. */
export function sampleBatch(task: NormTask, rng: Rng): { x: Tensor; targets: Int32Array } {
  const { vocab, classes, features: C, maxLength: T, batch: B } = task;
  const x = Tensor.zeros([B, T, C]);
  const targets = new Int32Array(B * T).fill(IGNORE);
  for (let b = 0; b < B; b++) {
    const length = 1 + rng.randint(T);
    const scale = Math.exp(rng.uniformRange(-2, 2));
    for (let t = 0; t < length; t++) {
      const token = rng.randint(vocab);
      targets[b * T + t] = token % classes;
      for (let c = 0; c < C; c++) x.data[(b * T + t) * C + c] = scale * task.table[token * C + c];
    }
  }
  return { x, targets };
}

class NormProbe extends Module {
  readonly kind: NormKind;
  norm: Module | null;
  fc: Linear;
  head: Linear;
  constructor(kind: NormKind, task: NormTask, rng: Rng) {
    super();
    this.kind = kind;
    const C = task.features;
    this.norm = kind === 'layernorm' ? new LayerNorm(C) : kind === 'rmsnorm' ? new RMSNorm(C) : kind === 'batchnorm' ? new BatchNorm1d(C) : null;
    this.fc = new Linear(C, 4 * C, { rng });
    this.head = new Linear(4 * C, task.classes, { rng });
  }

  /** x (B, T, C) → logits (B·T, K) */
  forward(x: Tensor): Tensor {
    const [B, T, C] = x.shape;
    let h = x.reshape([B * T, C]); // (B·T, C): BatchNorm's statistics run over these rows, padding included
    if (this.norm) h = (this.norm as unknown as { forward(t: Tensor): Tensor }).forward(h);
    return this.head.forward(this.fc.forward(h).relu());
  }
}

function makeTask(params: Record<string, unknown>, seed: number): NormTask {
  const features = numberParam(params as never, 'features');
  const vocab = numberParam(params as never, 'vocab');
  const rng = new Rng(seed + 99);
  const table = new Float32Array(vocab * features);
  for (let i = 0; i < table.length; i++) table[i] = rng.normal();
  return { vocab, classes: numberParam(params as never, 'classes'), features, maxLength: numberParam(params as never, 'max-length'), batch: numberParam(params as never, 'batch'), table };
}

export interface NormRun {
  kind: NormKind;
  losses: number[];
  /** Held-out loss in eval mode (running statistics for BatchNorm). */
  evalLoss: number;
  /** Held-out loss through batch statistics (BatchNorm in train mode; the same as evalLoss for the others). */
  trainModeLoss: number;
  /** Mean |logits(train mode) − logits(eval mode)| over real tokens of held-out batches. */
  mismatch: number;
}

export function trainNorm(kind: NormKind, task: NormTask, options: { steps: number; lr: number; evalBatches: number; seed: number }): NormRun {
  const model = new NormProbe(kind, task, new Rng(options.seed));
  const optimizer = new Adam(model.parameters(), { lr: options.lr });
  const data = new Rng(options.seed + 1);
  const losses: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const { x, targets } = sampleBatch(task, data);
    const loss = crossEntropy(model.forward(x), targets, { ignoreIndex: IGNORE });
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  const held = new Rng(options.seed + 2);
  let evalLoss = 0;
  let trainModeLoss = 0;
  let mismatch = 0;
  let realTokens = 0;
  noGrad(() => {
    for (let i = 0; i < options.evalBatches; i++) {
      const { x, targets } = sampleBatch(task, held);
      model.eval();
      const evalLogits = model.forward(x);
      // Train mode would update BatchNorm's running statistics: save and restore them.
      const saved = model.stateDict();
      const copies = Object.fromEntries(Object.entries(saved).map(([name, t]) => [name, t.contiguousCopy()]));
      model.train();
      const trainLogits = model.forward(x);
      model.loadStateDict(copies);
      evalLoss += crossEntropy(evalLogits, targets, { ignoreIndex: IGNORE }).item();
      trainModeLoss += crossEntropy(trainLogits, targets, { ignoreIndex: IGNORE }).item();
      const classes = task.classes;
      const a = evalLogits.contiguousData();
      const b = trainLogits.contiguousData();
      for (let row = 0; row < targets.length; row++) {
        if (targets[row] === IGNORE) continue;
        realTokens++;
        for (let k = 0; k < classes; k++) mismatch += Math.abs(a[row * classes + k] - b[row * classes + k]) / classes;
      }
    }
  });
  return { kind, losses, evalLoss: evalLoss / options.evalBatches, trainModeLoss: trainModeLoss / options.evalBatches, mismatch: mismatch / realTokens };
}

function smooth(values: number[], window: number): Array<[number, number]> {
  const points: Array<[number, number]> = [];
  for (let i = window - 1; i < values.length; i += Math.max(1, Math.floor(window / 2))) {
    const slice = values.slice(i - window + 1, i + 1);
    points.push([i + 1, slice.reduce((a, b) => a + b, 0) / slice.length]);
  }
  return points;
}

export const normExperiment: Experiment = {
  name: 'norm',
  description: 'LayerNorm vs RMSNorm vs BatchNorm vs none on small padded variable-length batches: loss curves and BatchNorm train/eval mismatch',
  params: [
    { name: 'norms', description: 'norms to compare', default: NORM_KINDS.join(',') },
    { name: 'steps', description: 'training steps per norm', default: 400, quick: 120 },
    { name: 'batch', description: 'sequences per batch (small on purpose)', default: 4 },
    { name: 'max-length', description: 'longest sequence (T)', default: 12 },
    { name: 'features', description: 'feature size (C)', default: 16 },
    { name: 'vocab', description: 'distinct tokens', default: 32 },
    { name: 'classes', description: 'label classes (token mod K)', default: 4 },
    { name: 'lr', description: 'Adam learning rate', default: 0.01 },
    { name: 'eval-batches', description: 'held-out batches', default: 40, quick: 20 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const task = makeTask(params, seed);
    const kinds = listParam(params, 'norms') as NormKind[];
    const steps = numberParam(params, 'steps');
    const runs: NormRun[] = [];
    const series: Series[] = [];
    kinds.forEach((kind, index) => {
      const run = trainNorm(kind, task, { steps, lr: numberParam(params, 'lr'), evalBatches: numberParam(params, 'eval-batches'), seed });
      runs.push(run);
      series.push({ name: kind, points: smooth(run.losses, Math.max(4, Math.floor(steps / 20))) });
      onProgress(index + 1, kinds.length, { norm: kind });
    });
    const tail = (losses: number[]) => { const part = losses.slice(-Math.max(1, Math.floor(losses.length / 10))); return part.reduce((a, b) => a + b, 0) / part.length; };
    const batchnorm = runs.find((run) => run.kind === 'batchnorm');
    const best = [...runs].sort((a, b) => a.evalLoss - b.evalLoss)[0];
    return {
      columns: ['norm', 'final train loss', 'held-out loss (eval mode)', 'held-out loss (batch stats)', 'mean |train − eval logits|'],
      rows: runs.map((run) => [run.kind, tail(run.losses), run.evalLoss, run.trainModeLoss, run.mismatch]),
      plot: { title: `training loss, batches of ${task.batch} padded sequences`, xLabel: 'step', yLabel: 'cross-entropy', kind: 'line', series },
      findings: [
        `Lowest held-out loss: ${best.kind} (${best.evalLoss.toPrecision(3)}); ${runs.map((run) => `${run.kind} ${run.evalLoss.toPrecision(3)}`).join(", ")}.`,
        ...(batchnorm ? [`BatchNorm's logits differ by ${batchnorm.mismatch.toFixed(3)} on average between train and eval mode on the same batch; the other norms by 0.`] : []),
      ],
    };
  },
};
