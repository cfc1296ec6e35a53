/**
 * RoPE forward + backward at (B, NH, T, hs) = (8, 8, 256, 64) on a (B, T, NH, hs) head view, as
 * attention calls it: the fused kernel (`applyRotaryEmbedding`) against the elementwise
 * composition it replaced (test/nn/rope-composed.ts), interleaved, medians of 30 rounds.
 * Checks first that both give the same bits.
 *
 * Run: node --import tsx bench/rope.ts
 */
import { getKernelInfo } from '../src/kernels/index.ts';
import { applyRotaryEmbedding } from '../src/nn/positions.ts';
import { Tensor } from '../src/tensor/tensor.ts';
import { composedRotaryEmbedding } from '../test/nn/rope-composed.ts';

const [B, NH, T, hs] = [8, 8, 256, 64];
const data = Float32Array.from({ length: B * T * NH * hs }, (_, i) => Math.sin(i * 0.37));
const upstream = new Tensor(Float32Array.from({ length: B * NH * T * hs }, (_, i) => Math.cos(i * 0.11)), [B, NH, T, hs]);

function step(rope: typeof applyRotaryEmbedding): { ms: number; out: Float32Array } {
  const leaf = new Tensor(Float32Array.from(data), [B, T, NH, hs]).requiresGrad_();
  const start = performance.now();
  const out = rope(leaf.transpose(1, 2), 3);
  out.backward({ gradient: upstream });
  return { ms: performance.now() - start, out: out.contiguousData() as Float32Array };
}

const fused = step(applyRotaryEmbedding).out, composed = step(composedRotaryEmbedding).out;
if (!fused.every((v, i) => Object.is(v, composed[i]))) throw new Error('bench/rope: fused and composed RoPE differ');
const times = { fused: [] as number[], composed: [] as number[] };
for (let round = 0; round < 30; round++) {
  times.composed.push(step(composedRotaryEmbedding).ms);
  times.fused.push(step(applyRotaryEmbedding).ms);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const info = getKernelInfo();
console.log(`RoPE forward+backward (${B},${NH},${T},${hs}), ${info.backend} ${info.simd ?? ''} ${info.threads} threads`);
console.log(`| variant | median ms | ratio |\n|---|---|---|`);
console.log(`| composed (x·cos + rotate_half(x)·sin) | ${median(times.composed).toFixed(2)} | 1.00× |`);
console.log(`| fused kernel | ${median(times.fused).toFixed(2)} | ${(median(times.composed) / median(times.fused)).toFixed(2)}× |`);
