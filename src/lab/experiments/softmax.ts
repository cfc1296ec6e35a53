/**
 * `qkv lab softmax`: full vs adaptive softmax as the vocabulary grows.
 *
 * A next-word model on Brown text (embedding of the previous word → output layer), with word
 * ids sorted by frequency as the adaptive softmax requires. Each vocabulary size trains both
 * output layers on the same batches: the full softmax (Linear C → V, cross-entropy) and
 * `AdaptiveLogSoftmaxWithLoss` (cutoffs at 10% and 40% of V). Reported: median ms per
 * training step and held-out perplexity (exact for both: the adaptive log-probabilities sum
 * to 1).
 *
 * Legend: N = word pairs per batch, C = width, V = vocabulary.
 */
import { AdaptiveLogSoftmaxWithLoss } from '../../nn/adaptive-softmax.ts';
import { Embedding } from '../../nn/embedding.ts';
import { Linear } from '../../nn/linear.ts';
import { Adam } from '../../optim/adam.ts';
import { noGrad } from '../../tensor/autograd.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { Rng } from '../../tensor/random.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { numberListParam, numberParam, type Experiment, type ExperimentResult, type Series } from '../experiment.ts';
import { brownSplit } from './brown-text.ts';

/** Word-id pairs (previous, next) with ids ranked by training frequency; id 0 is <unk>. */
export function wordPairs(train: readonly string[], heldOut: readonly string[], vocabulary: number): { train: Int32Array[]; heldOut: Int32Array[] } {
  const split = (line: string) => line.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  const counts = new Map<string, number>();
  for (const line of train) for (const word of split(line)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, vocabulary - 1);
  const ids = new Map(ranked.map(([word], i) => [word, i + 1]));
  const pairs = (lines: readonly string[]) => {
    const previous: number[] = [];
    const next: number[] = [];
    for (const line of lines) {
      const words = split(line).map((word) => ids.get(word) ?? 0);
      for (let i = 1; i < words.length; i++) {
        previous.push(words[i - 1]);
        next.push(words[i]);
      }
    }
    return [Int32Array.from(previous), Int32Array.from(next)];
  };
  return { train: pairs(train), heldOut: pairs(heldOut) };
}

interface OutputLayer {
  parameters(): Tensor[];
  loss(x: Tensor, targets: Int32Array): Tensor;
}

function outputLayer(kind: 'full' | 'adaptive', width: number, vocabulary: number, rng: Rng): OutputLayer {
  if (kind === 'full') {
    const linear = new Linear(width, vocabulary, { rng });
    return { parameters: () => linear.parameters(), loss: (x, targets) => crossEntropy(linear.forward(x), targets) };
  }
  const cutoffs = [Math.round(vocabulary * 0.1), Math.round(vocabulary * 0.4)];
  const adaptive = new AdaptiveLogSoftmaxWithLoss(width, vocabulary, cutoffs, { rng, headBias: true });
  return { parameters: () => adaptive.parameters(), loss: (x, targets) => adaptive.forward(x, targets).loss };
}

export interface SoftmaxRun {
  kind: 'full' | 'adaptive';
  vocabulary: number;
  stepMs: number;
  perplexity: number;
}

export function trainSoftmax(kind: 'full' | 'adaptive', data: { train: Int32Array[]; heldOut: Int32Array[] }, options: { vocabulary: number; width: number; batch: number; steps: number; lr: number; seed: number }): SoftmaxRun {
  const rng = new Rng(options.seed);
  const embedding = new Embedding(options.vocabulary, options.width, { rng });
  const output = outputLayer(kind, options.width, options.vocabulary, rng);
  const optimizer = new Adam([...embedding.parameters(), ...output.parameters()], { lr: options.lr });
  const sampler = new Rng(options.seed + 1);
  const [previous, next] = data.train;
  const times: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const rows = Int32Array.from({ length: options.batch }, () => sampler.randint(previous.length));
    const inputs = rows.map((row) => previous[row]);
    const targets = rows.map((row) => next[row]);
    const started = performance.now();
    const loss = output.loss(embedding.forward(inputs), targets); // (N, C) → mean NLL
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    times.push(performance.now() - started);
  }
  const [heldPrevious, heldNext] = data.heldOut;
  const nll = noGrad(() => output.loss(embedding.forward(heldPrevious), heldNext).item());
  times.sort((a, b) => a - b);
  return { kind, vocabulary: options.vocabulary, stepMs: times[Math.floor(times.length / 2)], perplexity: Math.exp(nll) };
}

export const softmaxExperiment: Experiment = {
  name: 'softmax',
  description: 'full vs adaptive softmax on a Brown next-word model as the vocabulary grows: ms per training step and held-out perplexity',
  params: [
    { name: 'vocabularies', description: 'vocabulary sizes', default: '2000,10000,30000', quick: '1000,10000' },
    { name: 'train-lines', description: 'Brown lines to train on', default: 30000, quick: 3000 },
    { name: 'held-out-lines', description: 'held-out Brown lines', default: 500, quick: 200 },
    { name: 'width', description: 'embedding width C', default: 32 },
    { name: 'batch', description: 'word pairs per step (N)', default: 256, quick: 128 },
    { name: 'steps', description: 'training steps per run', default: 300, quick: 25 },
    { name: 'lr', description: 'Adam learning rate', default: 0.02 },
  ],
  run(params, { seed, onProgress }): ExperimentResult {
    const { train, heldOut } = brownSplit({ trainLines: numberParam(params, 'train-lines'), heldOutLines: numberParam(params, 'held-out-lines') });
    const vocabularies = numberListParam(params, 'vocabularies');
    const runs: SoftmaxRun[] = [];
    let done = 0;
    for (const vocabulary of vocabularies) {
      const data = wordPairs(train, heldOut, vocabulary);
      for (const kind of ['full', 'adaptive'] as const) {
        runs.push(trainSoftmax(kind, data, { vocabulary, width: numberParam(params, 'width'), batch: numberParam(params, 'batch'), steps: numberParam(params, 'steps'), lr: numberParam(params, 'lr'), seed }));
        onProgress(++done, vocabularies.length * 2, { vocabulary });
      }
    }
    const series: Series[] = (['full', 'adaptive'] as const).map((kind) => ({ name: `${kind} softmax`, points: runs.filter((r) => r.kind === kind).map((r) => [r.vocabulary, r.stepMs]) }));
    const largest = vocabularies.at(-1)!;
    const at = (kind: string) => runs.find((r) => r.kind === kind && r.vocabulary === largest)!;
    return {
      columns: ['vocabulary', 'output layer', 'median ms per step', 'held-out perplexity'],
      rows: runs.map((r) => [r.vocabulary, r.kind, r.stepMs, r.perplexity]),
      plot: { title: 'training step time vs vocabulary size', xLabel: 'vocabulary V', yLabel: 'ms per step', kind: 'line', logX: true, series },
      findings: [`At V = ${largest}: adaptive ${at('adaptive').stepMs.toFixed(1)} ms per step vs full ${at('full').stepMs.toFixed(1)} ms (${(at('full').stepMs / at('adaptive').stepMs).toFixed(1)}×), perplexity ${at('adaptive').perplexity.toFixed(0)} vs ${at('full').perplexity.toFixed(0)}.`],
    };
  },
};
