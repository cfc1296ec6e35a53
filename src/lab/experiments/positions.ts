/**
 * `qkv lab positions`: why a transformer needs positions, and which.
 *
 * Order-sensitive task: random tokens, and at every position t ≥ lag the model must predict
 * the token `lag` places back — content alone cannot say which one that is. A tiny GPT is
 * trained with each `position` scheme of its config (none, sinusoidal, learned, RoPE, ALiBi,
 * T5-style relative bias) on the same batches; reported are the accuracy at the training
 * length and at twice that length (extrapolation: learned positions beyond the trained rows
 * were never updated).
 *
 * Legend: B = batch, T = sequence length, V = vocabulary.
 */
import { GPT } from '../../models/gpt.ts';
import { POSITION_SCHEMES, type PositionScheme } from '../../nn/positions.ts';
import { Adam } from '../../optim/adam.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { listParam, numberParam, type Experiment, type ExperimentResult, type Series } from '../experiment.ts';

export interface LagBatch {
  ids: Tensor;
  /** (B·T): ids[t − lag], −100 for t < lag. */
  targets: Int32Array;
}

export function lagBatch(batch: number, length: number, vocab: number, lag: number, rng: Rng): LagBatch {
  const ids = Tensor.zeros([batch, length]);
  const targets = new Int32Array(batch * length).fill(-100);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < length; t++) ids.data[b * length + t] = rng.randint(vocab);
    for (let t = lag; t < length; t++) targets[b * length + t] = ids.data[b * length + t - lag];
  }
  return { ids, targets };
}

/** Fraction of positions t ≥ lag where the argmax prediction is the token lag places back. */
export function lagAccuracy(model: GPT, batch: LagBatch): number {
  return noGrad(() => {
    const logits = model.forward(batch.ids).logits.contiguousData(); // (B, T, V)
    const vocab = model.vocabSize;
    let correct = 0;
    let counted = 0;
    batch.targets.forEach((target, row) => {
      if (target < 0) return;
      let best = 0;
      for (let v = 1; v < vocab; v++) if (logits[row * vocab + v] > logits[row * vocab + best]) best = v;
      counted++;
      if (best === target) correct++;
    });
    return correct / counted;
  });
}

export interface PositionRun {
  scheme: PositionScheme;
  losses: number[];
  accuracy: number;
  extrapolated: number;
}

export function trainPositions(scheme: PositionScheme, options: { vocab: number; length: number; lag: number; embd: number; layers: number; heads: number; batch: number; steps: number; lr: number; seed: number }): PositionRun {
  const { vocab, length, lag } = options;
  const model = new GPT(
    { vocab_size: vocab, n_positions: 2 * length, n_embd: options.embd, n_layer: options.layers, n_head: options.heads, position: scheme, embd_pdrop: 0, attn_pdrop: 0, resid_pdrop: 0 },
    { rng: new Rng(options.seed) },
  );
  const optimizer = new Adam(model.parameters(), { lr: options.lr });
  const data = new Rng(options.seed + 1);
  const losses: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const batch = lagBatch(options.batch, length, vocab, lag, data);
    const { loss } = model.forward(batch.ids, { targets: batch.targets });
    optimizer.zeroGrad();
    loss!.backward();
    optimizer.step();
    losses.push(loss!.item());
  }
  model.eval();
  const held = new Rng(options.seed + 2);
  return {
    scheme,
    losses,
    accuracy: lagAccuracy(model, lagBatch(64, length, vocab, lag, held)),
    extrapolated: lagAccuracy(model, lagBatch(64, 2 * length, vocab, lag, held)),
  };
}

export const positionsExperiment: Experiment = {
  name: 'positions',
  description: 'none vs sinusoidal vs learned vs RoPE vs ALiBi vs relative positions on an order task (predict the token `lag` back), and at 2× length',
  params: [
    { name: 'schemes', description: 'position schemes', default: ['none', 'sinusoidal', 'learned', 'rope', 'alibi', 'relative'].join(','), quick: 'none,learned,rope' },
    { name: 'lag', description: 'predict the token this many places back', default: 2 },
    { name: 'length', description: 'training sequence length (T)', default: 16, quick: 12 },
    { name: 'vocab', description: 'vocabulary size (V)', default: 16 },
    { name: 'embd', description: 'n_embd', default: 32 },
    { name: 'layers', description: 'n_layer', default: 1 },
    { name: 'heads', description: 'n_head', default: 2 },
    { name: 'batch', description: 'sequences per step', default: 16 },
    { name: 'steps', description: 'training steps per scheme', default: 300, quick: 150 },
    { name: 'lr', description: 'Adam learning rate', default: 0.01 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const schemes = listParam(params, 'schemes') as PositionScheme[];
    for (const scheme of schemes) if (!POSITION_SCHEMES.includes(scheme)) throw new Error(`lab positions: unknown scheme '${scheme}'`);
    const options = {
      vocab: numberParam(params, 'vocab'), length: numberParam(params, 'length'), lag: numberParam(params, 'lag'), embd: numberParam(params, 'embd'),
      layers: numberParam(params, 'layers'), heads: numberParam(params, 'heads'), batch: numberParam(params, 'batch'), steps: numberParam(params, 'steps'), lr: numberParam(params, 'lr'), seed,
    };
    const runs: PositionRun[] = [];
    schemes.forEach((scheme, index) => {
      const run = trainPositions(scheme, options);
      runs.push(run);
      onProgress(index + 1, schemes.length, { scheme, accuracy: run.accuracy, 'extrapolated accuracy': run.extrapolated });
    });
    const series: Series[] = [
      { name: `accuracy at T = ${options.length}`, points: runs.map((run, i) => [i, run.accuracy]) },
      { name: `accuracy at T = ${2 * options.length}`, points: runs.map((run, i) => [i, run.extrapolated]) },
    ];
    const chance = 1 / options.vocab;
    const tail = (losses: number[]) => { const part = losses.slice(-Math.max(1, Math.floor(losses.length / 10))); return part.reduce((a, b) => a + b, 0) / part.length; };
    return {
      columns: ['position', 'final train loss', `accuracy (T = ${options.length})`, `accuracy (T = ${2 * options.length})`],
      rows: runs.map((run) => [run.scheme, tail(run.losses), run.accuracy, run.extrapolated]),
      plot: { title: `predict the token ${options.lag} back (chance ${chance.toFixed(3)})`, xLabel: 'position scheme', yLabel: 'accuracy', kind: 'bar', categories: runs.map((run) => run.scheme), series },
      findings: [`Accuracy at T = ${options.length}: ${runs.map((run) => `${run.scheme} ${run.accuracy.toFixed(3)}`).join(', ')} (chance ${chance.toFixed(3)}).`],
    };
  },
};
