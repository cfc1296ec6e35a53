/**
 * `qkv lab scaling`: why divide the scores by √d_k, and what else would do.
 *
 * Part 1 (saturation): for q, k ~ N(0, 1) of size d_k, q·k has variance d_k, so without the
 * 1/√d_k factor the softmax over T keys gets sharper as d_k grows — entropy → 0, max weight → 1 —
 * and the gradient through it vanishes. Measured through the one attention core
 * (`scaledDotProductAttention`, `scale: 1` switches scaling off).
 *
 * Part 2 (training): a retrieval task — the query is a noisy copy of one of T keys, the loss
 * is cross-entropy of the scores against that key — trained with a learned W_q under four
 * recipes: scaled; unscaled; unscaled with T5-style initialisation (W_q ~ N(0, 1/d²), so q·k
 * starts with unit variance and no factor is needed); unscaled with a learned temperature.
 *
 * Legend: B = batch (queries), T = keys per query, d = d_k.
 */
import { Adam } from '../../optim/adam.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { Rng } from '../../tensor/random.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { Parameter } from '../../nn/parameter.ts';
import { scaledDotProductAttention } from '../../nn/attention.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult, type Series } from '../experiment.ts';

export interface SaturationPoint {
  dk: number;
  scaled: boolean;
  /** Mean softmax entropy in nats (uniform over T keys is ln T). */
  entropy: number;
  maxWeight: number;
  /** ‖∂L/∂scores‖ per query row, averaged, L = Σ output·r with a random r: what reaches W_q and W_k. */
  gradNorm: number;
}

/** Softmax statistics and the query gradient for random q, k, v at one d_k. */
export function measureSaturation(dk: number, scaled: boolean, options: { keys: number; queries: number; rng: Rng }): SaturationPoint {
  const { keys, queries, rng } = options;
  const q = Tensor.randn([1, 1, queries, dk], { rng }); // (1, 1, B, d)
  const k = Tensor.randn([1, 1, keys, dk], { rng }); // (1, 1, T, d)
  const v = Tensor.randn([1, 1, keys, dk], { rng }); // (1, 1, T, d)
  const probe = Tensor.randn([dk], { rng, std: 1 / Math.sqrt(dk) }); // r, sized so v·r ~ N(0, 1) at every d_k
  const { weights } = scaledDotProductAttention(q, k, v, { scale: scaled ? 1 / Math.sqrt(dk) : 1, returnWeights: true });
  const w = weights!.contiguousData(); // (B, T) flattened
  // L = Σ_b output_b·r, so ∂L/∂p_j = g_j = v_j·r and the softmax Jacobian gives ∂L/∂s_j = p_j (g_j − Σ_i p_i g_i).
  const g = new Float64Array(keys);
  for (let j = 0; j < keys; j++) for (let c = 0; c < dk; c++) g[j] += v.data[j * dk + c] * probe.data[c];
  let entropy = 0;
  let maxWeight = 0;
  let gradient = 0;
  for (let row = 0; row < queries; row++) {
    let rowMax = 0;
    let expected = 0;
    for (let j = 0; j < keys; j++) {
      const p = w[row * keys + j];
      if (p > 0) entropy -= p * Math.log(p);
      if (p > rowMax) rowMax = p;
      expected += p * g[j];
    }
    let squared = 0;
    for (let j = 0; j < keys; j++) squared += (w[row * keys + j] * (g[j] - expected)) ** 2;
    gradient += Math.sqrt(squared);
    maxWeight += rowMax;
  }
  return { dk, scaled, entropy: entropy / queries, maxWeight: maxWeight / queries, gradNorm: gradient / queries };
}

export type ScalingRecipe = 'scaled' | 'unscaled' | 't5-init' | 'learned-temperature';
export const SCALING_RECIPES: readonly ScalingRecipe[] = ['scaled', 'unscaled', 't5-init', 'learned-temperature'];

/** Trains W_q on the retrieval task; returns the loss after each step. */
export function trainRetrieval(recipe: ScalingRecipe, options: { dk: number; keys: number; batch: number; steps: number; lr: number; seed: number }): number[] {
  const { dk, keys, batch, steps, lr } = options;
  const rng = new Rng(options.seed);
  const std = recipe === 't5-init' ? 1 / dk : 1 / Math.sqrt(dk);
  const wq = new Parameter(Tensor.randn([dk, dk], { rng, std })); // (d, d)
  const logTemperature = new Parameter(Tensor.zeros([1])); // scale = exp(s), starts at 1 (unscaled)
  const params: Tensor[] = recipe === 'learned-temperature' ? [wq, logTemperature] : [wq];
  const optimizer = new Adam(params, { lr });
  const data = new Rng(options.seed + 1);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const k = Tensor.randn([batch, keys, dk], { rng: data }); // (B, T, d)
    const targets = Array.from({ length: batch }, () => data.randint(keys));
    const x = Tensor.zeros([batch, 1, dk]); // (B, 1, d): the target key plus noise
    const noise = Tensor.randn([batch, 1, dk], { rng: data, std: 0.5 }).data;
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < dk; c++) x.data[b * dk + c] = k.data[(b * keys + targets[b]) * dk + c] + noise[b * dk + c];
    }
    const q = x.matmul(wq); // (B, 1, d)
    let scores = q.matmul(k.transpose(1, 2)).reshape([batch, keys]); // (B, T)
    if (recipe === 'scaled') scores = scores.mul(1 / Math.sqrt(dk));
    if (recipe === 'learned-temperature') scores = scores.mul(logTemperature.exp());
    const loss = crossEntropy(scores, targets);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  return losses;
}

export const scalingExperiment: Experiment = {
  name: 'scaling',
  description: 'softmax saturation and gradient norm with vs without 1/√d_k as d_k grows; training with scaled, unscaled, T5-style init, learned temperature',
  params: [
    { name: 'dks', description: 'd_k values, comma-separated', default: '16,32,64,128,256,512,1024', quick: '16,64,256,1024' },
    { name: 'keys', description: 'keys per query (T)', default: 64, quick: 32 },
    { name: 'queries', description: 'random queries averaged per point', default: 256, quick: 64 },
    { name: 'train-dk', description: 'd_k of the training runs', default: 128, quick: 64 },
    { name: 'steps', description: 'training steps per recipe', default: 150, quick: 40 },
    { name: 'batch', description: 'queries per training step', default: 32, quick: 16 },
    { name: 'lr', description: 'Adam learning rate', default: 0.01 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const dks = numberListParam(params, 'dks');
    const keys = numberParam(params, 'keys');
    const queries = numberParam(params, 'queries');
    const total = dks.length * 2 + SCALING_RECIPES.length;
    let done = 0;
    const rows: ExperimentResult['rows'] = [];
    const entropySeries: Series[] = [{ name: 'scaled entropy', points: [] }, { name: 'unscaled entropy', points: [] }];
    for (const dk of dks) {
      const entropy: Record<string, number> = {};
      for (const scaled of [true, false]) {
        const point = measureSaturation(dk, scaled, { keys, queries, rng: new Rng(seed * 1000 + dk) });
        rows.push([scaled ? 'scaled' : 'unscaled', dk, point.entropy, point.maxWeight, point.gradNorm, '']);
        entropySeries[scaled ? 0 : 1].points.push([dk, point.entropy]);
        entropy[scaled ? 'scaled entropy' : 'unscaled entropy'] = point.entropy;
      }
      // Numbers, so a live view (the lab's web page) can plot them as they come.
      done += 2;
      onProgress(done, total, entropy);
    }
    const trainDk = numberParam(params, 'train-dk');
    const finals: Record<string, number> = {};
    for (const recipe of SCALING_RECIPES) {
      const losses = trainRetrieval(recipe, { dk: trainDk, keys, batch: numberParam(params, 'batch'), steps: numberParam(params, 'steps'), lr: numberParam(params, 'lr'), seed });
      const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 10)));
      finals[recipe] = tail.reduce((a, b) => a + b, 0) / tail.length;
      rows.push([`train ${recipe}`, trainDk, '', '', '', finals[recipe]]);
      onProgress(++done, total, { recipe, 'final train loss': finals[recipe] });
    }
    const uniform = Math.log(keys);
    const largest = dks[dks.length - 1];
    const unscaledLast = entropySeries[1].points.at(-1)?.[1] ?? NaN;
    const scaledLast = entropySeries[0].points.at(-1)?.[1] ?? NaN;
    return {
      columns: ['variant', 'd_k', 'entropy (nats)', 'max weight', '‖∂L/∂scores‖', 'final train loss'],
      rows,
      plot: { title: `softmax entropy over ${keys} keys (uniform = ${uniform.toFixed(2)} nats)`, xLabel: 'd_k', yLabel: 'entropy (nats)', kind: 'line', logX: true, series: entropySeries },
      findings: [
        `At d_k = ${largest} the unscaled softmax has entropy ${unscaledLast.toFixed(3)} nats against ${scaledLast.toFixed(3)} scaled (uniform ${uniform.toFixed(2)}).`,
        `Final training loss at d_k = ${trainDk}: ${SCALING_RECIPES.map((r) => `${r} ${finals[r].toFixed(3)}`).join(', ')}.`,
      ],
    };
  },
};
