/**
 * The wasm SIMD quantised kernel (src/kernels/assembly/quant.ts via src/kernels/wasm/qmatmul.ts)
 * against the oracle the native kernel is held to (./qmatmul-oracle.ts, none of the kernels'
 * code): x̂ · Ŵᵀ in float64 to float rounding, and the float reference within the x-rounding
 * bound; awkward shapes, 1 and 2 threads (bit-equal: a column is computed whole by one thread);
 * `qmatmul` on the wasm backend runs it; NaN blocks give NaN; bad sizes throw a RangeError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantizeMatrix, type QuantFormat } from '../../src/compress/formats.ts';
import { qmatmul, qmatmulKernel } from '../../src/compress/qmatmul.ts';
import { FORMAT_CODES } from '../../src/compress/qmatmul-native.ts';
import { qmatmulReference } from '../../src/compress/qmatmul-reference.ts';
import { currentBackend, setKernelBackend } from '../../src/kernels/index.ts';
import { qmatmulWasm, setWasmQmatmulParallelMinMacs } from '../../src/kernels/wasm/qmatmul.ts';
import { setWasmThreads, waitForWasmWorkers, wasmWorkerChunks } from '../../src/kernels/wasm/runtime.ts';
import { oracle, randomValues } from './qmatmul-oracle.ts';

function run(x: Float32Array, M: number, weight: ReturnType<typeof quantizeMatrix>): Float32Array {
  const out = new Float32Array(M * weight.rows);
  qmatmulWasm(out, x, M, FORMAT_CODES[weight.format], weight.data, weight.rows, weight.cols);
  return out;
}

const SHAPES: Record<QuantFormat, number[]> = { q8_0: [32, 96, 4160], q4_0: [32, 96, 4160], q4_g128: [128, 384, 4224] };

test('wasm qmatmul = x̂·Ŵᵀ to float rounding and the float reference within the x-rounding bound; M 1/3/17, N 1/7/33/129 (to 33 at K > 1000), 1 and 2 threads', () => {
  const formats: QuantFormat[] = ['q8_0', 'q4_0', 'q4_g128'];
  const cases = formats.flatMap((format) => SHAPES[format].flatMap((K) => [1, 3, 17].flatMap((M) => (K > 1000 ? [1, 7, 33] : [1, 7, 33, 129]).map((N) => ({ format, K, M, N })))));
  setWasmQmatmulParallelMinMacs(0); // every call splits when 2 threads run
  try {
    for (const [i, c] of cases.entries()) {
      const weight = quantizeMatrix(c.format, randomValues(c.N * c.K, 10 + i, 0.05), c.N, c.K);
      const x = randomValues(c.M * c.K, 500 + i);
      const reference = qmatmulReference(x, c.M, weight);
      const { expected, bound, magnitude } = oracle(x, c.M, weight);
      setWasmThreads(1);
      const one = run(x, c.M, weight);
      setWasmThreads(2);
      const two = run(x, c.M, weight);
      const what = `${c.format} M=${c.M} K=${c.K} N=${c.N}`;
      assert.deepEqual(two, one, `${what}: 2 threads differ from 1`);
      for (let j = 0; j < one.length; j++) {
        const rounding = 1e-5 * magnitude[j] + 1e-6;
        if (!(Math.abs(one[j] - expected[j]) <= rounding)) assert.fail(`${what} [${j}]: ${one[j]} vs x̂·Ŵᵀ ${expected[j]}`);
        if (!(Math.abs(one[j] - reference[j]) <= bound[j] + rounding)) assert.fail(`${what} [${j}]: ${one[j]} vs reference ${reference[j]}, bound ${bound[j]}`);
      }
    }
  } finally {
    setWasmQmatmulParallelMinMacs(1 << 22);
    setWasmThreads(1);
  }
});

test('wasm: x on the 8-bit grid and Q8_0 codes of −128 (the extreme int8 product): equal to the reference', () => {
  const N = 9;
  for (const format of ['q8_0', 'q4_0', 'q4_g128'] as const) {
    const K = format === 'q4_g128' ? 128 : 96;
    const w = quantizeMatrix(format, randomValues(N * K, 8), N, K);
    if (format === 'q8_0') for (let b = 0; b < (N * K) / 32; b += 2) w.data[b * 34 + 2 + (b % 32)] = 0x80;
    let seed = 1;
    const x = Float32Array.from({ length: 3 * K }, (_, i) => (i % 32 === 5 ? (i % 64 < 32 ? 127 : -127) : ((seed = (seed * 48271) % 2147483647) % 253) - 126));
    const expected = qmatmulReference(x, 3, w);
    const { magnitude } = oracle(x, 3, w);
    const got = run(x, 3, w);
    for (let i = 0; i < got.length; i++) {
      if (!(Math.abs(got[i] - expected[i]) <= 1e-6 * magnitude[i])) assert.fail(`${format} [${i}]: ${got[i]} vs ${expected[i]}`);
    }
  }
});

test('qmatmul on the wasm backend runs the wasm kernel (bit for bit)', () => {
  const before = currentBackend().name;
  const weight = quantizeMatrix('q4_0', randomValues(33 * 96, 3), 33, 96);
  const x = randomValues(2 * 96, 4);
  try {
    setKernelBackend('wasm');
    assert.equal(qmatmulKernel(), 'wasm');
    assert.deepEqual(qmatmul(x, 2, weight), run(x, 2, weight));
  } finally {
    setKernelBackend(before);
  }
});

test('wasm: a block holding NaN or infinity gives NaN outputs, not a finite guess', () => {
  const weight = quantizeMatrix('q8_0', randomValues(4 * 64, 5), 4, 64);
  const x = randomValues(2 * 64, 6);
  x[40] = Number.NaN;
  x[64 + 3] = Number.POSITIVE_INFINITY;
  assert.ok(run(x, 2, weight).every((v) => Number.isNaN(v)));
});

test('wasm: two threads share a large matvec (worker chunks counted)', () => {
  setWasmThreads(2);
  setWasmQmatmulParallelMinMacs(0);
  try {
    assert.ok(waitForWasmWorkers(), 'workers did not start');
    const weight = quantizeMatrix('q8_0', randomValues(2048 * 768, 11), 2048, 768);
    const x = randomValues(768, 12);
    const before = wasmWorkerChunks();
    for (let i = 0; i < 200 && wasmWorkerChunks() === before; i++) run(x, 1, weight);
    assert.ok(wasmWorkerChunks() > before, 'no chunk ran on a worker thread');
  } finally {
    setWasmQmatmulParallelMinMacs(1 << 22);
    setWasmThreads(1);
  }
});

test('wasm: bad sizes throw a RangeError naming qmatmul and the array', () => {
  const w = new Uint8Array(7 * 3 * 34);
  const x = new Float32Array(2 * 96);
  const out = new Float32Array(2 * 7);
  qmatmulWasm(out, x, 2, 0, w, 7, 96);
  const cases: [string, () => void, RegExp][] = [
    ['K not a multiple of 32', () => qmatmulWasm(out, x, 2, 0, w, 7, 48), /qmatmul \(wasm\): K = 48 is not a positive multiple of the block size 32/],
    ['K not a multiple of 128', () => qmatmulWasm(out, x, 2, 2, w, 7, 96), /block size 128/],
    ['w too short', () => qmatmulWasm(out, x, 2, 0, w.subarray(1), 7, 96), /w needs 714 bytes for \(7, 96\), found 713/],
    ['x too short', () => qmatmulWasm(out, x.subarray(1), 2, 0, w, 7, 96), /x needs M·K = 192 values, found 191/],
    ['out too short', () => qmatmulWasm(out.subarray(1), x, 2, 0, w, 7, 96), /out needs M·N = 14 values, found 13/],
    ['format 3', () => qmatmulWasm(out, x, 2, 3, w, 7, 96), /unknown format code 3/],
  ];
  for (const [what, call, message] of cases) assert.throws(call, (e: unknown) => e instanceof RangeError && message.test(e.message), what);
});
