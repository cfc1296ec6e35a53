// The native 16-bit GEMM (src/kernels/native/gemm16.cc) against a float64 product of the widened
// operands (src/io/half.ts decodes them, independently of the C++ conversions), at shapes off
// every tile and block grid (1, 7, 33, 65, 129; 150 × 530 × 301 crosses MC, NC and an odd last
// K block), on 1 and 2 threads, every transpose, on each ISA path this CPU runs (AVX-512 BF16
// vdpbf16ps, F16C widening, scalar widening).
//
// Tolerance: the products of two 16-bit values are exact in fp32, so the only error is fp32
// accumulation: |got − exact| ≤ K·2^-24·Σ|a·b| (Higham's γ_K bound), plus 1e-30 for zeros.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeBfloat16Into, decodeFloat16Into, encodeBfloat16, encodeFloat16 } from '../../src/io/half.ts';
import { gemm16Info, nativeEncode16, nativeGemm16, type Format16 } from '../../src/kernels/native/gemm16.ts';
import { nativeInfo, selectNativeSimd, setNativeThreads, type NativeSimd } from '../../src/kernels/native/index.ts';
import { Rng } from '../../src/tensor/random.ts';

const gemm = nativeGemm16();
const skip = gemm === null ? 'the native addon (with gemm16.cc) is not built here' : false;

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 129, 65], [7, 33, 129], [33, 65, 7], [65, 129, 33], [129, 7, 65], [129, 129, 129], [150, 530, 301],
];

function encode(values: Float32Array, format: Format16): Uint16Array {
  return format === 'bf16' ? encodeBfloat16(values) : encodeFloat16(values);
}
function decode(bits: Uint16Array, format: Format16): Float64Array {
  const out = new Float32Array(bits.length);
  return Float64Array.from(format === 'bf16' ? decodeBfloat16Into(bits, out) : decodeFloat16Into(bits, out));
}
/** (rows, cols) row-major → (cols, rows) row-major. */
function transposed(bits: Uint16Array, rows: number, cols: number): Uint16Array {
  const out = new Uint16Array(bits.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = bits[r * cols + c];
  return out;
}

interface Case { a: Uint16Array; b: Uint16Array; exact: Float64Array; bound: Float64Array }

/** Random A (M, K), B (K, N) as 16-bit patterns and the float64 product of their widened values. */
function makeCase(format: Format16, M: number, N: number, K: number, rng: Rng): Case {
  const a = encode(Float32Array.from({ length: M * K }, () => rng.uniform() * 2 - 1), format);
  const b = encode(Float32Array.from({ length: K * N }, () => (rng.uniform() * 2 - 1) * 3), format);
  const wa = decode(a, format), wb = decode(b, format);
  const exact = new Float64Array(M * N), bound = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let p = 0; p < K; p++) {
      const x = wa[i * K + p];
      for (let j = 0; j < N; j++) {
        const term = x * wb[p * N + j];
        exact[i * N + j] += term;
        bound[i * N + j] += Math.abs(term);
      }
    }
  }
  for (let i = 0; i < bound.length; i++) bound[i] = K * 2 ** -24 * bound[i] + 1e-30;
  return { a, b, exact, bound };
}

/** The CPU's feature flags (Linux); empty elsewhere. */
function cpuFlags(): string[] {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].trim().split(/\s+/) ?? [];
  } catch {
    return [];
  }
}

function isaPaths(): NativeSimd[] {
  const widest = nativeInfo().simd;
  return (['avx512', 'avx2', 'portable'] as NativeSimd[]).filter((isa) => isa === widest || selectNativeSimd(isa)).reverse();
}

for (const format of ['bf16', 'fp16'] as const) {
  test(`gemm16 ${format}: float64 product of the widened operands at awkward shapes, every transpose, 1 and 2 threads, each ISA path`, { skip }, () => {
    const { simd: widest, threads: startThreads } = nativeInfo();
    const rng = new Rng(format === 'bf16' ? 21 : 22);
    const cases = SHAPES.map(([M, N, K]) => ({ M, N, K, ...makeCase(format, M, N, K, rng) }));
    const pathsSeen = new Set<string>();
    try {
      for (const isa of isaPaths()) {
        assert.equal(selectNativeSimd(isa), true);
        pathsSeen.add(gemm16Info()![format]);
        for (const threads of [1, 2]) {
          setNativeThreads(threads);
          for (const { M, N, K, a, b, exact, bound } of cases) {
            for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
              const aStored = transA ? transposed(a, M, K) : a; // (K, M)
              const bStored = transB ? transposed(b, K, N) : b; // (N, K)
              const out = new Float32Array(M * N).fill(NaN); // every element must be written
              gemm!(format, aStored, bStored, out, { m: M, n: N, k: K, transA, transB });
              for (let i = 0; i < M * N; i++) {
                const error = Math.abs(out[i] - exact[i]);
                if (!(error <= bound[i])) {
                  assert.fail(`${format} ${isa} (${gemm16Info()![format]}) threads ${threads} M${M} N${N} K${K} transA ${transA} transB ${transB}: ` +
                    `out[${Math.floor(i / N)}, ${i % N}] = ${out[i]}, float64 ${exact[i]}, |error| ${error} > ${bound[i]}`);
                }
              }
            }
          }
        }
      }
    } finally {
      selectNativeSimd(widest);
      setNativeThreads(startThreads);
    }
    // This CPU's widest path is the hand-written one where it has the instructions.
    if (format === 'fp16' && widest !== 'portable') assert.ok(pathsSeen.has('avx512') || pathsSeen.has('f16c'), [...pathsSeen].join(','));
    if (format === 'bf16' && widest === 'avx512' && cpuFlags().includes('avx512_bf16')) assert.ok(pathsSeen.has('avx512bf16'), [...pathsSeen].join(','));
    assert.ok(pathsSeen.size >= 1);
  });
}

test('gemm16 accumulate adds into out; fp16 subnormals, ±65504 and inf/NaN widen exactly', { skip }, () => {
  const rng = new Rng(5);
  const [M, N, K] = [9, 37, 18];
  for (const format of ['bf16', 'fp16'] as const) {
    const { a, b, exact, bound } = makeCase(format, M, N, K, rng);
    const start = Float32Array.from({ length: M * N }, () => rng.uniform());
    const out = Float32Array.from(start);
    gemm!(format, a, b, out, { m: M, n: N, k: K, accumulate: true });
    for (let i = 0; i < M * N; i++) assert.ok(Math.abs(out[i] - start[i] - exact[i]) <= bound[i] + 2 ** -23, `${format} accumulate [${i}]: ${out[i]} vs ${start[i] + exact[i]}`);
  }
  // fp16 specials on a 1-deep product: out = a·b exactly, one term each (K = 1 gives no rounding).
  const values = [2 ** -24, -(2 ** -24) * 3, 2 ** -14, 6.1e-5, 65504, -65504, 1, Infinity, -Infinity, NaN];
  const bits = encodeFloat16(Float32Array.from(values));
  const one = encodeFloat16(Float32Array.from([1]));
  const out = new Float32Array(values.length);
  gemm!('fp16', bits, one, out, { m: values.length, n: 1, k: 1 });
  const widened = decode(bits, 'fp16');
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(widened[i])) assert.ok(Number.isNaN(out[i]), `NaN at ${i}`);
    else assert.equal(out[i], widened[i], `fp16 ${values[i]}`);
  }
});

test('gemm16 rejects a wrong array kind or a short array, naming the argument', { skip }, () => {
  const a = new Uint16Array(6), b = new Uint16Array(6);
  assert.throws(() => gemm!('bf16', a, b, new Float32Array(3), { m: 2, n: 2, k: 3 }), /gemm16 \(native\): out needs 4 elements, found 3/);
  assert.throws(() => gemm!('fp16', a, new Uint16Array(5), new Float32Array(4), { m: 2, n: 2, k: 3 }), /gemm16 \(native\): b needs 6 elements/);
  assert.throws(() => gemm!('fp16', new Float32Array(6) as unknown as Uint16Array, b, new Float32Array(4), { m: 2, n: 2, k: 3 }), /a must be a Uint16Array/);
});

test('encode16 rounds bit for bit as src/io/half.ts does (ties, subnormals, overflow, NaN), on each ISA path, 1 and 2 threads', { skip }, () => {
  const encodeNative = nativeEncode16()!;
  const rng = new Rng(8);
  const specials = [0, -0, 1, -1, 65504, 65519, 65520, -65520, 1e6, 3.4e38, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1.5 * 2 ** -24, 2 ** -26,
    6.1e-5, -3e-7, 1e-40, -1e-42, Infinity, -Infinity, NaN, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -9, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2047.5, 2049];
  // 70 001 values: past the one-thread threshold (65 536), with a tail off the 32-element chunk grid.
  const values = Float32Array.from([...specials, ...Array.from({ length: 70_001 - specials.length }, (_, i) =>
    (rng.uniform() * 2 - 1) * (i % 3 === 0 ? 2 ** -13 : i % 3 === 1 ? 100 : 70_000))]);
  const { simd: widest, threads: startThreads } = nativeInfo();
  try {
    for (const isa of isaPaths()) {
      assert.equal(selectNativeSimd(isa), true);
      for (const threads of [1, 2]) {
        setNativeThreads(threads);
        for (const format of ['bf16', 'fp16'] as const) {
          const expected = format === 'bf16' ? encodeBfloat16(values) : encodeFloat16(values);
          const got = new Uint16Array(values.length);
          encodeNative(format, values, got);
          for (let i = 0; i < values.length; i++) {
            if (Number.isNaN(values[i])) assert.ok(Number.isNaN(decode(got.subarray(i, i + 1), format)[0]), `${format} NaN at ${i}`);
            else if (got[i] !== expected[i]) assert.fail(`${format} ${isa} threads ${threads}: ${values[i]} → ${got[i].toString(16)}, io/half ${expected[i].toString(16)}`);
          }
        }
      }
    }
  } finally {
    selectNativeSimd(widest);
    setNativeThreads(startThreads);
  }
  assert.throws(() => encodeNative('bf16', values, new Uint16Array(3)), /encode16 \(native\): dst needs 70001 elements, found 3/);
});
