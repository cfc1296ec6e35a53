/**
 * Quantised matmul kernels side by side, one run (issue 16): the wasm SIMD kernel
 * (src/kernels/wasm/qmatmul.ts) on Q8_0 / Q4_0 / Q4_G128 against the wasm float32 sgemm and the
 * native kernels (float32 sgemm, quantised VNNI/AVX2), at GPT-2 124M's decode shapes (M = 1:
 * c_attn 768→2304, c_fc 768→3072, c_proj 3072→768) and a short prefill (M = 16).
 * The TypeScript q8_0 row is what the wasm backend ran before the wasm kernel. The native
 * quantised kernel runs once per dot-product path this CPU has (AVX-512 VNNI, the 256-bit AVX-VNNI,
 * AVX2), forced one after the other, so `avxvnni vs avx2` compares the two on the same data in the
 * same run. Each figure: median ms of a call, copies into wasm memory included, 2 threads.
 *
 * `npx tsx bench/compress-kernels.ts` (a table), or within `npm run bench` (section compress-kernels).
 */
import { quantizeMatrix, type QuantFormat } from '../src/compress/formats.ts';
import { qmatmulTypeScript } from '../src/compress/qmatmul.ts';
import { FORMAT_CODES, nativeQmatmul, QUANT_KERNEL_PATHS, selectNativeQuantPath } from '../src/compress/qmatmul-native.ts';
import { kernelBackend, setKernelBackend, setKernelThreads } from '../src/kernels/index.ts';
import { qmatmulWasm } from '../src/kernels/wasm/qmatmul.ts';
import { setWasmThreads, waitForWasmWorkers } from '../src/kernels/wasm/runtime.ts';
import { Rng } from '../src/tensor/random.ts';
import { timeMedianMs, type BenchReport } from './report.ts';

const THREADS = 2;
const SHAPES = [
  { name: 'c_attn', M: 1, K: 768, N: 2304 },
  { name: 'c_fc', M: 1, K: 768, N: 3072 },
  { name: 'c_proj', M: 1, K: 3072, N: 768 },
  { name: 'c_fc prefill', M: 16, K: 768, N: 3072 },
];
const FORMATS: QuantFormat[] = ['q8_0', 'q4_0', 'q4_g128'];

function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

export function benchQuantKernels(timing = { warmup: 3, minRuns: 15, minTimeMs: 300 }): { shape: string; kernel: string; ms: number }[] {
  setWasmThreads(THREADS);
  waitForWasmWorkers();
  setKernelBackend('native');
  setKernelThreads(THREADS);
  const wasm = kernelBackend('wasm');
  const native = kernelBackend('native');
  const nativeQ = nativeQmatmul();
  const rows: { shape: string; kernel: string; ms: number }[] = [];
  for (const { name, M, K, N } of SHAPES) {
    const weights = randomValues(N * K, 1, 0.05); // (N, K)
    const x = randomValues(M * K, 2);
    const out = new Float32Array(M * N);
    const params = { batch: 1, m: M, n: N, k: K, transB: true };
    const shape = `${name} M=${M} K=${K} N=${N}`;
    const time = (kernel: string, fn: () => void): void => {
      rows.push({ shape, kernel, ms: timeMedianMs(fn, timing) });
    };
    time('wasm f32', () => wasm.matmul(x, weights, out, params));
    time('native f32', () => native.matmul(x, weights, out, params));
    for (const format of FORMATS) {
      const w = quantizeMatrix(format, weights, N, K);
      if (format === 'q8_0') time('TypeScript q8_0 (the wasm backend before)', () => qmatmulTypeScript(x, M, w));
      time(`wasm ${format}`, () => qmatmulWasm(out, x, M, FORMAT_CODES[format], w.data, N, K));
      if (nativeQ === null) continue;
      time(`native ${format}`, () => nativeQ(out, x, M, w));
      try {
        for (const path of QUANT_KERNEL_PATHS) {
          if (path !== 'portable' && selectNativeQuantPath(path)) time(`native ${format} ${path}`, () => nativeQ(out, x, M, w));
        }
      } finally {
        selectNativeQuantPath('auto');
      }
    }
  }
  return rows;
}

/** `npm run bench` rows: ms per call, and each native path's speed against AVX2 on the same shape. */
export async function run(report: BenchReport): Promise<void> {
  const rows = benchQuantKernels({ warmup: 2, minRuns: 7, minTimeMs: 40 });
  for (const row of rows) {
    const avx2 = /^native (\S+) (avx512vnni|avxvnni)$/.exec(row.kernel);
    const baseline = avx2 === null ? undefined : rows.find((r) => r.shape === row.shape && r.kernel === `native ${avx2[1]} avx2`);
    report.row({
      name: `qmatmul ${row.kernel}`, shape: row.shape.split(' M=')[0], timeMs: row.ms, value: row.ms, unit: 'ms',
      ...(baseline === undefined ? {} : { ratio: baseline.ms / row.ms, baseline: 'avx2 (speed-up)' }),
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = benchQuantKernels();
  const shapes = [...new Set(rows.map((r) => r.shape))];
  const kernels = [...new Set(rows.map((r) => r.kernel))];
  console.log(`| kernel (ms, median, ${THREADS} threads) | ${shapes.join(' | ')} |`);
  console.log(`|---|${shapes.map(() => '---:').join('|')}|`);
  for (const kernel of kernels) {
    const cells = shapes.map((s) => rows.find((r) => r.shape === s && r.kernel === kernel)?.ms.toFixed(3) ?? '—');
    console.log(`| ${kernel} | ${cells.join(' | ')} |`);
  }
}
