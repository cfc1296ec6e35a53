/**
 * The native quantised kernels (src/kernels/native/quant.cc) against TypeScript oracles that
 * share none of their code:
 *  - exact mechanism: the native kernel quantises x to 8 bits per block of 32 (ggml's Q8_0 rule,
 *    float32 scale), so it must equal x̂ · dequantised Wᵀ in float64 (x̂ rebuilt here from the
 *    rule) to float rounding, on every ISA path this CPU runs, 1 and 2 threads;
 *  - stated tolerance against the float reference (qmatmulReference on the real x): the x
 *    rounding moves each output by at most Σ_blocks (scale_x / 2) · Σ |ŵ| over the block;
 *  - integer x already on the 8-bit grid: equal to the reference outright;
 *  - bad sizes and kinds throw a RangeError naming the kernel and the array.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { quantizeMatrix, type QuantFormat, type QuantizedMatrix } from '../../src/compress/formats.ts';
import { oracle, randomValues } from './qmatmul-oracle.ts';
import { qmatmul, qmatmulTypeScript } from '../../src/compress/qmatmul.ts';
import { nativeQmatmul, nativeQuantPath, QUANT_KERNEL_PATHS, selectNativeQuantPath, type QuantKernelPath } from '../../src/compress/qmatmul-native.ts';
import { qmatmulReference } from '../../src/compress/qmatmul-reference.ts';
import { currentBackend, setKernelBackend, setKernelThreads } from '../../src/kernels/index.ts';
import { nativeAddonPath, nativeInfo, selectNativeSimd, type NativeSimd } from '../../src/kernels/native/index.ts';
import { Rng } from '../../src/tensor/random.ts';

function run(x: Float32Array, M: number, weight: QuantizedMatrix): Float32Array {
  const out = new Float32Array(M * weight.rows);
  nativeQmatmul()!(out, x, M, weight);
  return out;
}

/**
 * The ISA paths this CPU runs, each with the quantised path it selects, then the quantised paths
 * the ISA order hides (AVX2 where AVX-VNNI is present) forced by selectNativeQuantPath; restores
 * the widest ISA and the automatic choice after.
 */
function eachPath(body: (path: QuantKernelPath) => void): QuantKernelPath[] {
  const seen: QuantKernelPath[] = [];
  const widest = nativeInfo().simd;
  try {
    for (const isa of ['avx512', 'avx2', 'portable'] as NativeSimd[]) {
      if (!selectNativeSimd(isa)) continue;
      const path = nativeQuantPath()!;
      if (seen.includes(path)) continue;
      seen.push(path);
      body(path);
    }
    selectNativeSimd(widest);
    for (const path of QUANT_KERNEL_PATHS) {
      if (seen.includes(path) || !selectNativeQuantPath(path)) continue;
      assert.equal(nativeQuantPath(), path);
      seen.push(path);
      body(path);
    }
  } finally {
    selectNativeQuantPath('auto');
    selectNativeSimd(widest);
  }
  return seen;
}

/** Whether the kernel reports AVX-VNNI (`avx_vnni` in /proc/cpuinfo: read independently of the addon's own check). */
function cpuHasAvxVnni(): boolean {
  try {
    return /\bavx_vnni\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

const available = (() => {
  try {
    return currentBackend().name === 'native';
  } catch {
    return false;
  }
})();
const skip = available ? false : 'float32 work is not on the native backend (QKV_KERNELS, or the addon is not built); the TypeScript kernel is tested in qmatmul.test.ts';

const SHAPES: Record<QuantFormat, number[]> = { q8_0: [32, 96, 4160], q4_0: [32, 96, 4160], q4_g128: [128, 384, 4224] };

test('the addon has the quantised kernels (a stale build says so)', { skip }, () => {
  assert.ok(nativeQmatmul() !== null, `${nativeAddonPath()} has no qmatmul export: rebuild with \`node scripts/build-native.mjs\``);
});

test('native qmatmul = x̂·Ŵᵀ to float rounding and the float reference within the x-rounding bound; every path, M 1/3/17, N 1/7/33/129, 1 and 2 threads', { skip }, () => {
  const formats: QuantFormat[] = ['q8_0', 'q4_0', 'q4_g128'];
  const cases = formats.flatMap((format) => SHAPES[format].flatMap((K) => [1, 3, 17].flatMap((M) => [1, 7, 33, 129].map((N) => ({ format, K, M, N })))));
  const prepared = cases.map(({ format, K, M, N }, i) => {
    const weight = quantizeMatrix(format, randomValues(N * K, 10 + i, 0.05), N, K);
    const x = randomValues(M * K, 500 + i);
    return { format, K, M, N, weight, x, reference: qmatmulReference(x, M, weight), ...oracle(x, M, weight) };
  });
  const paths = eachPath((path) => {
    for (const c of prepared) {
      setKernelThreads(1);
      const one = run(c.x, c.M, c.weight);
      setKernelThreads(2);
      const two = run(c.x, c.M, c.weight);
      const what = `${path} ${c.format} M=${c.M} K=${c.K} N=${c.N}`;
      // each output column is computed whole by one thread, so the split cannot change a bit
      assert.deepEqual(two, one, `${what}: 2 threads differ from 1`);
      for (let i = 0; i < one.length; i++) {
        const rounding = 1e-5 * c.magnitude[i] + 1e-6;
        if (!(Math.abs(one[i] - c.expected[i]) <= rounding)) assert.fail(`${what} [${i}]: ${one[i]} vs x̂·Ŵᵀ ${c.expected[i]}`);
        if (!(Math.abs(one[i] - c.reference[i]) <= c.bound[i] + rounding)) assert.fail(`${what} [${i}]: ${one[i]} vs reference ${c.reference[i]}, bound ${c.bound[i]}`);
      }
    }
  });
  assert.ok(paths.includes('portable'), `paths run: ${paths.join(', ')}`);
  if (cpuHasAvxVnni()) assert.ok(paths.includes('avxvnni') && paths.includes('avx2'), `paths run: ${paths.join(', ')}`);
});

test('AVX-VNNI: taken under the avx2 ISA where the CPU has it, and equal to the AVX2 path bit for bit (the same int32 lanes, the same float order)', { skip }, () => {
  const widest = nativeInfo().simd;
  if (!cpuHasAvxVnni()) {
    assert.equal(selectNativeQuantPath('avxvnni'), false, 'no avx_vnni in /proc/cpuinfo, yet the path was accepted');
    return;
  }
  try {
    assert.ok(selectNativeSimd('avx2'));
    assert.equal(nativeQuantPath(), 'avxvnni', 'the avx2 ISA on an AVX-VNNI CPU should run the AVX-VNNI dots');
    for (const [format, K] of [['q8_0', 800], ['q4_0', 96], ['q4_g128', 384]] as const) {
      const weight = quantizeMatrix(format, randomValues(37 * K, 70, 0.05), 37, K);
      const x = randomValues(5 * K, 71);
      assert.ok(selectNativeQuantPath('avxvnni'));
      const vnni = run(x, 5, weight);
      assert.ok(selectNativeQuantPath('avx2'));
      const avx2 = run(x, 5, weight);
      assert.deepEqual(vnni, avx2, `${format}: AVX-VNNI differs from AVX2`);
    }
  } finally {
    selectNativeQuantPath('auto');
    selectNativeSimd(widest);
  }
});

test('x already on the 8-bit grid (integers, |x| ≤ 127, 127 in every block) and Q8_0 codes of −128: equal to the reference', { skip }, () => {
  const N = 9, K = 96;
  const rng = new Rng(7);
  const weight = quantizeMatrix('q8_0', randomValues(N * K, 8), N, K);
  for (let b = 0; b < (N * K) / 32; b += 2) weight.data[b * 34 + 2 + (b % 32)] = 0x80; // ggml never writes −128, but a file may hold it
  for (const format of ['q8_0', 'q4_0', 'q4_g128'] as const) {
    const w = format === 'q8_0' ? weight : quantizeMatrix(format, randomValues(N * 128, 9), N, 128);
    const width = w.cols;
    const x = Float32Array.from({ length: 3 * width }, (_, i) => (i % 32 === 5 ? (i % 64 < 32 ? 127 : -127) : Math.round((rng.uniform() * 2 - 1) * 126)));
    const expected = qmatmulReference(x, 3, w);
    const { magnitude } = oracle(x, 3, w);
    eachPath((path) => {
      const got = run(x, 3, w);
      for (let i = 0; i < got.length; i++) {
        // float32 accumulation only: 1e-6 of Σ|w·x| (the terms are large and cancel)
        if (!(Math.abs(got[i] - expected[i]) <= 1e-6 * magnitude[i])) assert.fail(`${path} ${format} [${i}]: ${got[i]} vs ${expected[i]}`);
      }
    });
  }
});

test('qmatmul dispatches: native on the native backend, the TypeScript kernel on the others', { skip }, () => {
  const weight = quantizeMatrix('q4_0', randomValues(33 * 96, 3), 33, 96);
  const x = randomValues(2 * 96, 4);
  assert.deepEqual(qmatmul(x, 2, weight), run(x, 2, weight));
  try {
    setKernelBackend('reference');
    assert.equal(nativeQmatmul(), null);
    assert.deepEqual(qmatmul(x, 2, weight), qmatmulTypeScript(x, 2, weight));
  } finally {
    setKernelBackend('native');
  }
});

test('a block holding NaN or infinity gives NaN outputs, not a finite guess', { skip }, () => {
  const weight = quantizeMatrix('q8_0', randomValues(4 * 64, 5), 4, 64);
  const x = randomValues(2 * 64, 6);
  x[40] = Number.NaN; // row 0, block 1
  x[64 + 3] = Number.POSITIVE_INFINITY; // row 1, block 0
  eachPath((path) => assert.ok(run(x, 2, weight).every((v) => Number.isNaN(v)), path));
});

test('two threads share the work of a large matvec (worker tasks counted)', { skip }, () => {
  setKernelThreads(2);
  const weight = quantizeMatrix('q8_0', randomValues(2048 * 768, 11), 2048, 768);
  const x = randomValues(768, 12);
  const before = nativeInfo().workerTasks;
  // on a loaded machine the worker may not be scheduled for a while: give it up to 500 calls
  for (let i = 0; i < 500 && nativeInfo().workerTasks === before; i++) run(x, 1, weight);
  assert.ok(nativeInfo().workerTasks > before, 'no task ran on a worker thread');
});

test('bad sizes and kinds throw a RangeError naming qmatmul and the array', { skip }, () => {
  type Raw = (format: number, out: unknown, x: unknown, w: unknown, M: number, N: number, K: number) => void;
  const raw = (createRequire(import.meta.url)(nativeAddonPath()) as { qmatmul: Raw }).qmatmul;
  const w = new Uint8Array(7 * 3 * 34);
  const x = new Float32Array(2 * 96);
  const out = new Float32Array(2 * 7);
  raw(0, out, x, w, 2, 7, 96); // the good call
  const cases: [string, () => void, RegExp][] = [
    ['K not a multiple of 32', () => raw(0, out, x, w, 2, 7, 48), /qmatmul \(native\): q8_0 needs K a positive multiple of 32/],
    ['K not a multiple of 128', () => raw(2, out, x, new Uint8Array(7 * 68 * 2), 2, 7, 96), /q4_g128 needs K a positive multiple of 128/],
    ['K = 0', () => raw(1, out, x, w, 2, 7, 0), /q4_0 needs K a positive multiple of 32/],
    ['w too short', () => raw(0, out, x, w.subarray(1), 2, 7, 96), /qmatmul \(native\): w needs 714 elements, found 713/],
    ['x too short', () => raw(0, out, x.subarray(1), w, 2, 7, 96), /x needs 192 elements, found 191/],
    ['out too short', () => raw(0, out.subarray(1), x, w, 2, 7, 96), /out needs 14 elements, found 13/],
    ['w a Float32Array', () => raw(0, out, x, new Float32Array(714), 2, 7, 96), /w must be a Uint8Array/],
    ['x a Float64Array', () => raw(0, out, new Float64Array(192), w, 2, 7, 96), /x must be a Float32Array/],
    ['format 3', () => raw(3, out, x, w, 2, 7, 96), /format must be 0 \(q8_0\), 1 \(q4_0\) or 2 \(q4_g128\)/],
    ['M fractional', () => raw(0, out, x, w, 1.5, 7, 96), /M must be a non-negative integer/],
  ];
  for (const [what, call, message] of cases) assert.throws(call, (e: unknown) => e instanceof RangeError && message.test(e.message), what);
});
