/**
 * Output layer over GPT-2's 50,257-token vocabulary: the full softmax (a (C, V) projection and
 * cross-entropy) vs the adaptive softmax (cutoffs 2000, 10000; div 4), forward + backward, on
 * the same hidden states and the same targets: real GPT-2 tokens of Brown Corpus text,
 * re-numbered by frequency as the adaptive softmax needs. Both are checked to give a finite loss
 * near ln V at initialisation before timing, and the share of rows that reach a tail cluster is
 * printed (Zipf's law is what makes the adaptive one cheap).
 */
import { readFileSync } from 'node:fs';
import { AdaptiveLogSoftmaxWithLoss } from '../src/nn/adaptive-softmax.ts';
import { Linear } from '../src/nn/linear.ts';
import { crossEntropy } from '../src/tensor/ops/loss.ts';
import { Rng } from '../src/tensor/random.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { loadGpt2Tokenizer } from '../src/tokenizers/gpt2.ts';
import { type BenchReport, timeMedianMs } from './report.ts';

const V = 50257;
const C = 128;
const N = 16 * 128; // one bench-GPT batch: B 16 × T 128 rows
const CUTOFFS = [2000, 10000];

/** GPT-2 ids of the corpus re-numbered by frequency rank (0 = most frequent). */
function frequencyRankedTokens(): Int32Array {
  const text = readFileSync(new URL('../data/brown.txt', import.meta.url), 'utf8').slice(0, 1_500_000);
  const ids = loadGpt2Tokenizer().encodeIds(text);
  const counts = new Float64Array(V);
  for (const id of ids) counts[id]++;
  const order = Array.from({ length: V }, (_, id) => id).sort((a, b) => counts[b] - counts[a] || a - b);
  const rankOf = new Int32Array(V);
  order.forEach((id, rank) => (rankOf[id] = rank));
  return Int32Array.from(ids, (id) => rankOf[id]);
}

export async function run(report: BenchReport): Promise<void> {
  const ranked = frequencyRankedTokens();
  const targets = ranked.subarray(0, N);
  const tailShare = targets.filter((id) => id >= CUTOFFS[0]).length / N;
  const rng = new Rng(0);
  const hidden = Tensor.randn([N, C], { rng, requiresGrad: true }); // (N, C)
  const full = new Linear(C, V, { bias: false, rng });
  const adaptive = new AdaptiveLogSoftmaxWithLoss(C, V, CUTOFFS, { divValue: 4, rng });

  const fullStep = (): number => {
    const loss = crossEntropy(full.forward(hidden), targets); // (N, V) logits
    loss.backward();
    return loss.item();
  };
  const adaptiveStep = (): number => {
    const { loss } = adaptive.forward(hidden, targets);
    loss.backward();
    return loss.item();
  };
  for (const [name, step] of [['full', fullStep], ['adaptive', adaptiveStep]] as const) {
    const loss = step();
    if (!Number.isFinite(loss) || Math.abs(loss - Math.log(V)) > 3) {
      throw new Error(`bench adaptive-softmax: ${name} initial loss ${loss} is not near ln V = ${Math.log(V).toFixed(2)}`);
    }
  }
  // Alternating single steps, so that machine noise hits both alike; the full step takes
  // seconds, hence few repeats.
  const fullMs: number[] = [];
  const adaptiveMs: number[] = [];
  for (let round = 0; round < 5; round++) {
    fullMs.push(timeMedianMs(() => void fullStep(), { warmup: 0, minRuns: 1, minTimeMs: 0 }));
    adaptiveMs.push(timeMedianMs(() => void adaptiveStep(), { warmup: 0, minRuns: 3, minTimeMs: 0 }));
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const shape = `N ${N} C ${C} V ${V}`;
  const baseline = 'output layer full softmax';
  const fullTime = median(fullMs);
  const adaptiveTime = median(adaptiveMs);
  report.row({ name: baseline, shape, timeMs: fullTime, value: N / (fullTime / 1000), unit: 'tokens/s' });
  report.row({
    name: 'output layer adaptive softmax',
    shape: `${shape} tail ${(tailShare * 100).toFixed(0)}%`,
    timeMs: adaptiveTime,
    value: N / (adaptiveTime / 1000),
    unit: 'tokens/s',
    ratio: fullTime / adaptiveTime,
    baseline,
  });
}
