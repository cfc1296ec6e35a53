/**
 * Additive (Bahdanau) vs scaled dot-product attention, forward only, same inputs, same run:
 * one head of width D = 32 over T = 64, 256, 1024 positions (self-attention, B = 1).
 *
 * Dot-product scores are one (T, D)·(D, T) matmul; additive scores run a small MLP on every
 * (query, key) pair, a (T, T, H) tensor through tanh, so the ratio grows with H and not with T
 * (both are O(T²)), and its memory is H times larger.
 */
import { AdditiveAttention } from '../src/nn/additive-attention.ts';
import { scaledDotProductAttention } from '../src/nn/attention.ts';
import { noGrad } from '../src/tensor/autograd.ts';
import { Rng } from '../src/tensor/random.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import type { BenchReport } from './report.ts';
import { timeMedianMs } from './report.ts';

const LENGTHS = [64, 256, 1024];
/** Head width D and the additive MLP's hidden size H. */
const WIDTH = 32;

export async function run(report: BenchReport): Promise<void> {
  const rng = new Rng(0);
  const additive = new AdditiveAttention({ queryDim: WIDTH, hiddenDim: WIDTH, rng });
  for (const T of LENGTHS) {
    const x = Tensor.randn([1, T, WIDTH], { rng }); // (B, T, D)
    const heads = x.reshape([1, 1, T, WIDTH]); // (B, NH = 1, T, D)
    // Large T: a few runs are enough (an additive run at T = 1024 touches 2·T²·H floats).
    const timing = T >= 1024 ? { warmup: 1, minRuns: 3, minTimeMs: 0 } : { warmup: 2, minRuns: 5, minTimeMs: 300 };
    const shape = `T=${T} D=${WIDTH}`;
    const dotMs = timeMedianMs(() => noGrad(() => scaledDotProductAttention(heads, heads, heads, { causal: true })), timing);
    report.row({ name: 'dot-product attention', shape, timeMs: dotMs, value: dotMs, unit: 'ms' });
    const additiveMs = timeMedianMs(() => noGrad(() => additive.forward(x, x, x, { causal: true })), timing);
    report.row({ name: 'additive attention', shape, timeMs: additiveMs, value: additiveMs, unit: 'ms', ratio: additiveMs / dotMs, baseline: 'dot-product attention' });
  }
}
