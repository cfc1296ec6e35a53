/**
 * Greedy decoding tokens/s with the preallocated KV cache against growth by concatenation, on
 * a GPT of GPT-2's layout at a smaller size (6 layers, n_embd 384, 6 heads, vocab 4096), prompt 16,
 * 480 new tokens, each step in an inference scope as `modelStep` runs it. The two growths alternate
 * rounds so noise hits both; the logits are checked equal first.
 *
 * Run: node --import tsx bench/kv-cache.ts
 */
import { cacheStorages } from '../src/generate/lm.ts';
import { getKernelInfo } from '../src/kernels/index.ts';
import { GPT, KVCache } from '../src/models/gpt.ts';
import { inferenceScope } from '../src/tensor/buffer-pool.ts';
import { Rng } from '../src/tensor/random.ts';
import { Tensor } from '../src/tensor/tensor.ts';

const config = { vocab_size: 4096, n_positions: 512, n_embd: 384, n_layer: 6, n_head: 6 };
const model = new GPT(config, { rng: new Rng(1) }).eval();
const PROMPT = 16, NEW_TOKENS = 480;

function decode(growth: 'buffer' | 'concat'): { tokensPerSecond: number; last: Float32Array } {
  const cache = new KVCache(config.n_layer, { growth });
  let input = new Tensor(Float32Array.from({ length: PROMPT }, (_, i) => (i * 37) % config.vocab_size), [1, PROMPT]);
  let last = new Float32Array(0);
  let start = 0;
  for (let step = 0; step <= NEW_TOKENS; step++) {
    if (step === 1) start = performance.now(); // the prompt's step is not a decode step
    const logits = inferenceScope(() => model.forward(input, { cache }).logits, () => cacheStorages(cache));
    const data = logits.contiguousData();
    last = Float32Array.from(data.subarray(data.length - config.vocab_size));
    input = new Tensor(Float32Array.of(last.indexOf(Math.max(...last))), [1, 1]);
  }
  return { tokensPerSecond: NEW_TOKENS / ((performance.now() - start) / 1000), last };
}

const check = [decode('buffer').last, decode('concat').last];
if (!check[0].every((v, i) => Object.is(v, check[1][i]))) throw new Error('bench/kv-cache: the two growths decode different logits');
const rates = { buffer: [] as number[], concat: [] as number[] };
for (let round = 0; round < 3; round++) {
  rates.concat.push(decode('concat').tokensPerSecond);
  rates.buffer.push(decode('buffer').tokensPerSecond);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const info = getKernelInfo();
console.log(`greedy decoding, GPT ${config.n_layer}x${config.n_embd}, prompt ${PROMPT} + ${NEW_TOKENS} tokens, ${info.backend} ${info.simd ?? ''} ${info.threads} threads`);
console.log('| KV cache | tokens/s (median of 3) | ratio |\n|---|---|---|');
console.log(`| concatenation | ${median(rates.concat).toFixed(1)} | 1.00× |`);
console.log(`| preallocated | ${median(rates.buffer).toFixed(1)} | ${(median(rates.buffer) / median(rates.concat)).toFixed(2)}× |`);
