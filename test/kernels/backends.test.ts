// Every fast backend (native on each ISA this CPU runs, wasm) against the TypeScript reference
// run in float64, through the one KernelBackend interface: awkward shapes (1, 7, 33, 65, 129,
// off every tile grid), shapes large enough to split across threads, on 1 and 2 threads.
// QKV_KERNELS=wasm|native limits the run to one backend (CI runs each on its own).
//
// Tolerances, relative to max(1, |reference|) unless stated:
//   matmul      1e-4·√K: float32 accumulation error grows like √K·6e-8 (|a|, |b| < 1), ~100× headroom
//   attention   2e-4·√T: float32 sums over T keys and hs channels, the exp polynomial's ~1e-7
//   GELU        forward 1e-6, backward 1e-6 (slopes computed in float64, rounded once)
//   norms, cross-entropy  1e-5 (float32 sums over C), dweight / dbias 1e-4·√N (sums over rows)
//   Adam        1e-6;  embedding gather bit for bit, scatter-add 1e-6
//   unary ops   1e-6 forward and backward (libm float exp/log/tanh within ~2 ulp; exact GELU in double)
//   softmax     1e-6; log-softmax 1e-5 (a float32 log-normaliser of up to ~15 is off by ~1e-6)
//   row sums    1e-7 (float64 sums in another order, rounded once); sum of squares 1e-12 (float64); row max bit for bit
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelBackend } from '../../src/kernels/backend.ts';
import { kernelBackend, setKernelThreads, waitForKernelThreads } from '../../src/kernels/index.ts';
import { selectNativeSimd } from '../../src/kernels/native/index.ts';
import { referenceBackend } from '../../src/kernels/reference/index.ts';
import { UNARY_OPS } from '../../src/kernels/reference/unary.ts';
import type { AttentionParams, MatmulParams, Storage } from '../../src/kernels/types.ts';
import { backendVariants, randomArray } from './fixtures.ts';

type Fast = KernelBackend<Storage>;
const f64 = (a: Float32Array): Float64Array => Float64Array.from(a);

function expectClose(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.ok(actual.length >= expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    const bound = tolerance * Math.max(1, Math.abs(expected[i]));
    if (!(error <= bound) && !(Number.isNaN(expected[i]) && Number.isNaN(actual[i])) && actual[i] !== expected[i]) {
      assert.fail(`${what}: index ${i}: ${actual[i]}, reference ${expected[i]}, |error| ${error.toExponential(2)} > ${bound.toExponential(2)}`);
    }
  }
}

const matmulShapes: [number, number, number][] = [[1, 1, 1], [1, 7, 33], [1, 1030, 300], [3, 2050, 129], [4, 100, 513], [7, 1, 65], [33, 65, 7], [65, 33, 129], [129, 129, 129], [13, 300, 257], [200, 70, 300], [5, 1030, 20]];

for (const variant of backendVariants()) {
  for (const threads of [1, 2]) {
    describe(`${variant.label} backend, ${threads} thread${threads > 1 ? 's' : ''}, against the reference`, () => {
      let fast: Fast;
      it('loads', () => {
        setKernelThreads(threads);
        fast = kernelBackend(variant.name);
        if (variant.simd !== undefined) assert.equal(selectNativeSimd(variant.simd), true);
        assert.equal(waitForKernelThreads(), true);
      });

      it('matmul: every transA / transB / accumulate, awkward and blocked shapes, batches with broadcast and offsets', () => {
        let seed = 1;
        const check = (p: MatmulParams) => {
          const strideA = p.strideA ?? p.m * p.k, strideB = p.strideB ?? p.k * p.n;
          const a = randomArray((p.offsetA ?? 0) + (p.batch - 1) * strideA + p.m * p.k, seed++, 1);
          const b = randomArray((p.offsetB ?? 0) + (p.batch - 1) * strideB + p.k * p.n, seed++, 1);
          const initial = randomArray(p.batch * p.m * p.n, seed++, 1);
          const out = Float32Array.from(initial), expected = f64(initial);
          fast.matmul(a, b, out, p);
          referenceBackend.matmul(f64(a), f64(b), expected, p);
          expectClose(`matmul ${JSON.stringify(p)}`, out, expected, 1e-4 * Math.sqrt(Math.max(1, p.k)));
        };
        for (const transA of [false, true]) for (const transB of [false, true]) for (const accumulate of [false, true]) {
          for (const [m, n, k] of matmulShapes) check({ batch: 1, m, n, k, transA, transB, accumulate });
          check({ batch: 3, m: 7, n: 33, k: 65, strideA: 0, transA, transB, accumulate });
          check({ batch: 3, m: 33, n: 7, k: 65, strideB: 0, offsetB: 5, transA, transB, accumulate });
          check({ batch: 2, m: 17, n: 19, k: 23, strideA: 17 * 23 + 3, strideB: 19 * 23 + 11, offsetA: 2, offsetB: 1, transA, transB, accumulate });
          check({ batch: 5, m: 65, n: 100, k: 129, transA, transB, accumulate });
        }
        check({ batch: 1, m: 3, n: 4, k: 0, accumulate: false });
      });

      it('attention forward and backward: causal or not, padded keys, a fully padded row, T off the 64-row blocks', () => {
        let seed = 500;
        for (const [B, NH, T, hs] of [[1, 1, 1, 7], [2, 3, 7, 16], [1, 2, 33, 9], [2, 2, 65, 16], [1, 2, 129, 32]] as const) {
          for (const causal of [false, true]) {
            for (const padded of [false, true]) {
              const keyPadding = padded ? Uint8Array.from({ length: B * T }, (_, i) => (i % T) % 3 === 2 || (i >= T && i % T === 0) ? 1 : 0) : undefined;
              if (keyPadding !== undefined && T === 1) keyPadding[0] = 1; // every key masked: zeros, not NaN
              const p: AttentionParams = { B, NH, T, hs, causal, keyPadding, scale: 1 / Math.sqrt(hs) };
              const size = B * NH * T * hs;
              const q = randomArray(size, seed++, 1), k = randomArray(size, seed++, 1), v = randomArray(size, seed++, 1), dout = randomArray(size, seed++, 1);
              const out = new Float32Array(size), lse = new Float32Array(B * NH * T);
              const outRef = new Float64Array(size), lseRef = new Float64Array(B * NH * T);
              fast.attentionForward(out, lse, q, k, v, p);
              referenceBackend.attentionForward(outRef, lseRef, f64(q), f64(k), f64(v), p);
              const tolerance = 2e-4 * Math.sqrt(T);
              const label = `attention ${JSON.stringify({ B, NH, T, hs, causal, padded })}`;
              expectClose(`${label} out`, out, outRef, tolerance);
              expectClose(`${label} lse`, lse, lseRef, tolerance);
              const [dq, dk, dv] = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
              const [dqRef, dkRef, dvRef] = [new Float64Array(size), new Float64Array(size), new Float64Array(size)];
              fast.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, p);
              referenceBackend.attentionBackward(dqRef, dkRef, dvRef, f64(dout), f64(q), f64(k), f64(v), outRef, lseRef, p);
              expectClose(`${label} dq`, dq, dqRef, tolerance);
              expectClose(`${label} dk`, dk, dkRef, tolerance);
              expectClose(`${label} dv`, dv, dvRef, tolerance);
            }
          }
        }
      });

      it('GELU and bias + GELU, forward and backward (dbias accumulated), incl. a size split across threads', () => {
        let seed = 900;
        for (const n of [1, 7, 33, 65, 129, 70_001]) {
          const x = randomArray(n, seed++, 6), g = randomArray(n, seed++, 1);
          const y = new Float32Array(n), yRef = new Float64Array(n), dx = new Float32Array(n), dxRef = new Float64Array(n);
          fast.geluTanhForward(y, x, n);
          referenceBackend.geluTanhForward(yRef, f64(x), n);
          expectClose(`geluTanhForward n=${n}`, y, yRef, 1e-6);
          fast.geluTanhBackward(dx, g, x, n);
          referenceBackend.geluTanhBackward(dxRef, f64(g), f64(x), n);
          expectClose(`geluTanhBackward n=${n}`, dx, dxRef, 1e-6);
        }
        for (const [N, C] of [[1, 1], [7, 33], [65, 129], [300, 512]] as const) {
          // x + bias is rounded to float32 first on every path, so the reference gets it rounded too.
          const x = randomArray(N * C, seed++, 4), bias = randomArray(C, seed++, 1), g = randomArray(N * C, seed++, 1);
          const y = new Float32Array(N * C), yRef = new Float32Array(N * C);
          fast.biasGeluForward(y, x, bias, N, C);
          referenceBackend.biasGeluForward(yRef, x, bias, N, C);
          expectClose(`biasGeluForward ${N}×${C}`, y, yRef, 1e-6);
          const dx = new Float32Array(N * C), dxRef = new Float32Array(N * C);
          const dbias = Float64Array.from({ length: C }, (_, i) => i), dbiasRef = Float64Array.from(dbias);
          fast.biasGeluBackward(dx, dbias, g, x, bias, N, C);
          referenceBackend.biasGeluBackward(dxRef, dbiasRef, g, x, bias, N, C);
          expectClose(`biasGeluBackward ${N}×${C} dx`, dx, dxRef, 1e-6);
          expectClose(`biasGeluBackward ${N}×${C} dbias`, dbias, dbiasRef, 1e-5 * Math.sqrt(N));
          const dbiasOnly = new Float64Array(C);
          fast.biasGeluBackward(null, dbiasOnly, g, x, bias, N, C);
          expectClose(`biasGeluBackward ${N}×${C} dbias alone`, dbiasOnly, dbiasRef.map((v, i) => v - i), 1e-5 * Math.sqrt(N));
        }
      });

      it('layerNorm and rmsNorm, forward and backward, with and without affine parameters', () => {
        let seed = 1300;
        for (const [N, C] of [[1, 1], [7, 33], [65, 129], [600, 128]] as const) {
          for (const affine of [true, false]) {
            const inp = randomArray(N * C, seed++, 3), dout = randomArray(N * C, seed++, 1);
            const weight = affine ? randomArray(C, seed++, 1) : null, bias = affine ? randomArray(C, seed++, 1) : null;
            const label = `${N}×${C}${affine ? '' : ' no affine'}`;
            const out = new Float32Array(N * C), outRef = new Float64Array(N * C);
            const [mean, rstd, meanRef, rstdRef] = [new Float64Array(N), new Float64Array(N), new Float64Array(N), new Float64Array(N)];
            fast.layerNormForward(out, mean, rstd, inp, weight, bias, N, C, 1e-5);
            referenceBackend.layerNormForward(outRef, meanRef, rstdRef, f64(inp), weight && f64(weight), bias && f64(bias), N, C, 1e-5);
            expectClose(`layerNormForward ${label} out`, out, outRef, 1e-5);
            expectClose(`layerNormForward ${label} rstd`, rstd, rstdRef, 1e-5);
            const dinp = new Float32Array(N * C), dinpRef = new Float64Array(N * C);
            const [dw, db, dwRef, dbRef] = [new Float64Array(C), new Float64Array(C), new Float64Array(C), new Float64Array(C)];
            fast.layerNormBackward(dinp, dw, db, dout, inp, weight, mean, rstd, N, C);
            referenceBackend.layerNormBackward(dinpRef, dwRef, dbRef, f64(dout), f64(inp), weight && f64(weight), meanRef, rstdRef, N, C);
            expectClose(`layerNormBackward ${label} dinp`, dinp, dinpRef, 1e-5);
            expectClose(`layerNormBackward ${label} dweight`, dw, dwRef, 1e-4 * Math.sqrt(N));
            expectClose(`layerNormBackward ${label} dbias`, db, dbRef, 1e-4 * Math.sqrt(N));

            const rrms = new Float64Array(N), rrmsRef = new Float64Array(N);
            fast.rmsNormForward(out, rrms, inp, weight, N, C, 1e-6);
            referenceBackend.rmsNormForward(outRef, rrmsRef, f64(inp), weight && f64(weight), N, C, 1e-6);
            expectClose(`rmsNormForward ${label} out`, out, outRef, 1e-5);
            dw.fill(0);
            dwRef.fill(0);
            fast.rmsNormBackward(dinp, dw, dout, inp, weight, rrms, N, C);
            referenceBackend.rmsNormBackward(dinpRef, dwRef, f64(dout), f64(inp), weight && f64(weight), rrmsRef, N, C);
            expectClose(`rmsNormBackward ${label} dinp`, dinp, dinpRef, 1e-5);
            expectClose(`rmsNormBackward ${label} dweight`, dw, dwRef, 1e-4 * Math.sqrt(N));
          }
        }
      });

      it('cross-entropy forward and backward: ignore index, label smoothing, large logits', () => {
        let seed = 1700;
        for (const [N, C] of [[1, 1], [7, 33], [65, 129], [300, 257]] as const) {
          for (const smoothing of [0, 0.1]) {
            const logits = randomArray(N * C, seed++, 8);
            logits[0] = 1e4; // max-shifting keeps this finite
            const targets = Int32Array.from({ length: N }, (_, i) => (i % 5 === 3 ? -100 : (i * 7) % C));
            const label = `${N}×${C} ε=${smoothing}`;
            const losses = new Float32Array(N), lse = new Float64Array(N), lossesRef = new Float64Array(N), lseRef = new Float64Array(N);
            fast.crossEntropyForward(losses, lse, logits, targets, N, C, -100, smoothing);
            referenceBackend.crossEntropyForward(lossesRef, lseRef, f64(logits), targets, N, C, -100, smoothing);
            expectClose(`crossEntropyForward ${label} losses`, losses, lossesRef, 1e-5);
            const scales = Float64Array.from({ length: N }, (_, i) => 1 / (i + 1));
            const dlogits = new Float32Array(N * C), dlogitsRef = new Float64Array(N * C);
            fast.crossEntropyBackward(dlogits, logits, lse, targets, scales, N, C, -100, smoothing);
            referenceBackend.crossEntropyBackward(dlogitsRef, f64(logits), lseRef, targets, scales, N, C, -100, smoothing);
            expectClose(`crossEntropyBackward ${label}`, dlogits, dlogitsRef, 1e-5);
          }
        }
        assert.throws(() => fast.crossEntropyForward(new Float32Array(1), new Float64Array(1), new Float32Array(3), Int32Array.of(3), 1, 3, -100, 0), /out of range/);
      });

      it('Adam and AdamW steps in place', () => {
        let seed = 2100;
        for (const n of [1, 7, 129, 70_001]) {
          for (const s of [
            { beta1: 0.9, beta2: 0.999, l2Penalty: 0, keep: 1 - 1e-3 * 0.1, stepSize: 1e-3 / (1 - 0.9 ** 3), biasCorrection2Sqrt: Math.sqrt(1 - 0.999 ** 3), eps: 1e-8 },
            { beta1: 0.8, beta2: 0.99, l2Penalty: 0.01, keep: 1, stepSize: 1e-2, biasCorrection2Sqrt: 0.5, eps: 1e-6 },
          ]) {
            const param = randomArray(n, seed++, 1), grad = randomArray(n, seed++, 1), m = randomArray(n, seed++, 0.1);
            const v = randomArray(n, seed++, 0.1).map(Math.abs);
            const ref = [f64(param), f64(grad), f64(m), f64(v)] as const;
            fast.adamUpdate(param, grad, m, v, s);
            referenceBackend.adamUpdate(ref[0], ref[1], ref[2], ref[3], s);
            expectClose(`adamUpdate n=${n} param`, param, ref[0], 1e-6);
            expectClose(`adamUpdate n=${n} expAvg`, m, ref[2], 1e-6);
            expectClose(`adamUpdate n=${n} expAvgSq`, v, ref[3], 1e-6);
          }
        }
      });

      it('embedding gather and scatter-add (repeated ids accumulate), incl. a size split across threads', () => {
        let seed = 2500;
        for (const [V, C, N] of [[1, 1, 1], [33, 65, 129], [50, 768, 512]] as const) {
          const weight = randomArray(V * C, seed++, 1), g = randomArray(N * C, seed++, 1);
          const ids = Int32Array.from({ length: N }, (_, i) => (i * 13 + (i % 3)) % V);
          const out = new Float32Array(N * C), outRef = new Float32Array(N * C);
          fast.embeddingGather(out, weight, ids, C);
          referenceBackend.embeddingGather(outRef, weight, ids, C);
          assert.deepEqual(out, outRef, `embeddingGather ${V}×${C}`);
          const dweight = randomArray(V * C, seed++, 1), dweightRef = f64(dweight);
          fast.embeddingScatterAdd(dweight, g, ids, C);
          referenceBackend.embeddingScatterAdd(dweightRef, f64(g), ids, C);
          expectClose(`embeddingScatterAdd ${V}×${C}, ${N} ids`, dweight, dweightRef, 1e-5);
        }
        assert.throws(() => fast.embeddingScatterAdd(new Float32Array(6), new Float32Array(3), Int32Array.of(2), 3), /out of range/);
      });

      it('strided elementwise: copies between layouts and + − × ÷ with broadcast operands, bit for bit', () => {
        let seed = 2900;
        // (shape, out strides, a strides, b strides): dense; a bias row (stride 0); a transposed
        // copy (B, T, NH, hs) → (B, NH, T, hs); a scalar operand; a split long row (threads).
        const layouts: [number[], number[], number[], number[]][] = [
          [[7, 33], [33, 1], [33, 1], [33, 1]],
          [[65, 129], [129, 1], [129, 1], [0, 1]],
          [[2, 4, 65, 16], [4 * 65 * 16, 65 * 16, 16, 1], [65 * 4 * 16, 16, 4 * 16, 1], [0, 0, 0, 0]],
          [[300, 257], [257, 1], [0, 0], [257, 1]],
          [[70_001], [1], [1], [1]],
          [[129, 600], [600, 1], [1, 129], [600, 1]],
        ];
        for (const [shape, outStrides, aStrides, bStrides] of layouts) {
          const extent = (strides: number[]) => 1 + shape.reduce((sum, dim, i) => sum + (dim - 1) * strides[i], 0);
          const a = randomArray(extent(aStrides) + 3, seed++, 2), b = randomArray(extent(bStrides) + 1, seed++, 2).map((v) => v + 3);
          const layout = { shape, outOffset: 2, outStrides, aOffset: 3, aStrides, bOffset: 1, bStrides };
          for (const op of ['copy', 'add', 'sub', 'mul', 'div'] as const) {
            const out = new Float32Array(extent(outStrides) + 2), expected = new Float32Array(out.length);
            fast.elementwise(op, out, a, op === 'copy' ? null : b, layout);
            referenceBackend.elementwise(op, expected, a, op === 'copy' ? null : b, layout);
            assert.deepEqual(out, expected, `elementwise ${op} over ${JSON.stringify(shape)}`);
          }
        }
      });

      it('column sums (a bias gradient), float64 in row order: the reference’s bits', () => {
        let seed = 3300;
        for (const [rows, cols] of [[1, 1], [7, 33], [65, 129], [2048, 384]] as const) {
          const a = randomArray(3 + rows * cols, seed++, 1);
          const out = new Float32Array(cols), expected = new Float32Array(cols);
          fast.columnSums(out, a, 3, rows, cols, 1 / 7);
          referenceBackend.columnSums(expected, a, 3, rows, cols, 1 / 7);
          assert.deepEqual(out, expected, `columnSums ${rows}×${cols}`);
        }
      });

      it('unary ops forward and backward at 1, 7, 33, 65, 129 and a size split across threads, edge values included', () => {
        let seed = 3600;
        // Overflow, underflow, ±0, NaN and the tails where 1 + erf or 1 − σ would cancel.
        const edges = [0, -0, 1e-30, -1e-30, 88.7, 89, -87, -104, 30, -30, 10, -10, -5.5, NaN];
        const positive = new Set(['log', 'sqrt', 'rsqrt']);
        for (const op of UNARY_OPS) {
          for (const n of [1, 7, 33, 65, 129, 20_011]) {
            const x = randomArray(n, seed++, 6);
            if (n >= 33) x.set(edges.slice(0, Math.min(edges.length, n)), 5);
            if (positive.has(op)) for (let i = 0; i < n; i++) x[i] = Math.abs(x[i]) + 0.01;
            const g = randomArray(n, seed++, 1);
            const slope = 0.05;
            const y = new Float32Array(n), yRef = new Float64Array(n);
            fast.unaryForward(op, y, x, n, slope);
            referenceBackend.unaryForward(op, yRef, f64(x), n, slope);
            // Against the reference rounded to float32 once (exp(89) is +∞ in float32, as stored).
            expectClose(`${op} forward n=${n}`, y, Float32Array.from(yRef), 1e-6);
            // Both backwards read the same (float32) forward output, so only the backward differs.
            const dx = new Float32Array(n), dxRef = new Float64Array(n);
            fast.unaryBackward(op, dx, g, x, y, n, slope);
            referenceBackend.unaryBackward(op, dxRef, f64(g), f64(x), f64(y), n, slope);
            expectClose(`${op} backward n=${n}`, dx, Float32Array.from(dxRef), 1e-6);
          }
        }
      });

      it('softmax and log-softmax over the last axis, forward and backward: −∞ entries, a row all −∞, rows split across threads', () => {
        let seed = 3900;
        for (const [rows, C] of [[1, 1], [3, 7], [5, 33], [7, 65], [2, 129], [4, 1030], [300, 129]] as const) {
          const size = rows * C;
          const x = randomArray(size, seed++, 8), dout = randomArray(size, seed++, 1);
          if (C > 1) for (let i = 0; i < size; i += 3) x[i] = -Infinity; // masked keys
          x.fill(-Infinity, 0, C); // the first row fully masked
          for (const log of [false, true]) {
            const forward = log ? 'logSoftmaxForward' : 'softmaxForward', backward = log ? 'logSoftmaxBackward' : 'softmaxBackward';
            const tolerance = log ? 1e-5 : 1e-6;
            const label = `${log ? 'logSoftmax' : 'softmax'} ${rows}×${C}`;
            const out = new Float32Array(size), outRef = new Float64Array(size);
            fast[forward](out, x, rows, C, 1);
            referenceBackend[forward](outRef, f64(x), rows, C, 1);
            expectClose(`${label} forward`, out, outRef, tolerance);
            if (!log) for (let i = 0; i < size; i++) if (x[i] === -Infinity) assert.equal(out[i], 0, `${label}: a masked entry has weight exactly 0`);
            const dinp = new Float32Array(size), dinpRef = new Float64Array(size);
            fast[backward](dinp, dout, out, rows, C, 1);
            referenceBackend[backward](dinpRef, f64(dout), f64(out), rows, C, 1);
            expectClose(`${label} backward`, dinp, dinpRef, tolerance);
          }
        }
        // An inner axis (softmax over dim 1 of (2, 33, 7)) keeps the strided loop: same values.
        const x = randomArray(2 * 33 * 7, seed++, 4), out = new Float32Array(x.length), outRef = new Float64Array(x.length);
        fast.softmaxForward(out, x, 2, 33, 7);
        referenceBackend.softmaxForward(outRef, f64(x), 2, 33, 7);
        expectClose('softmax over an inner axis', out, outRef, 1e-6);
      });

      it('last-axis row sums and row max (ties: first index; NaN wins), and the sum of squares of gradient clipping', () => {
        let seed = 4200;
        for (const [rows, C] of [[1, 1], [7, 33], [65, 129], [129, 7], [3, 65], [300, 257]] as const) {
          const a = randomArray(2 + rows * C, seed++, 3);
          for (let i = 2; i < a.length; i += 5) a[i] = Math.round(a[i]); // ties
          if (rows >= 7) a[2 + 3 * C + Math.min(4, C - 1)] = NaN; // row 3 has a NaN
          const sums = new Float32Array(rows), sumsRef = new Float64Array(rows);
          fast.rowSums(sums, a, 2, rows, C, 1 / C);
          referenceBackend.rowSums(sumsRef, f64(a), 2, rows, C, 1 / C);
          expectClose(`rowSums ${rows}×${C}`, sums, Float32Array.from(sumsRef), 1e-7);
          const values = new Float32Array(rows), indices = new Float32Array(rows);
          const valuesRef = new Float32Array(rows), indicesRef = new Float32Array(rows);
          fast.rowMax(values, indices, a, 2, rows, C);
          referenceBackend.rowMax(valuesRef, indicesRef, a, 2, rows, C);
          assert.deepEqual(values, valuesRef, `rowMax values ${rows}×${C}`);
          assert.deepEqual(indices, indicesRef, `rowMax indices ${rows}×${C}`);
        }
        for (const n of [1, 7, 33, 65, 129, 100_003]) {
          const a = randomArray(n + 3, seed++, 2);
          const total = fast.sumOfSquares(a, 3, n), totalRef = referenceBackend.sumOfSquares(f64(a), 3, n);
          assert.ok(Math.abs(total - totalRef) <= 1e-12 * totalRef, `sumOfSquares n=${n}: ${total}, reference ${totalRef}`);
        }
      });

      it('rejects arrays that are too short instead of reading past them', () => {
        assert.throws(() => fast.matmul(new Float32Array(5), new Float32Array(6), new Float32Array(4), { batch: 1, m: 2, n: 2, k: 3 }), /6 elements|needs at least 6/);
        assert.throws(() => fast.layerNormForward(new Float32Array(5), new Float64Array(2), new Float64Array(2), new Float32Array(6), null, null, 2, 3, 1e-5), /needs 6/);
        if (fast.name === 'native') {
          assert.throws(() => fast.unaryForward('exp', new Float32Array(5), new Float32Array(6), 6, 0), /y needs 6/);
          assert.throws(() => fast.softmaxForward(new Float32Array(6), new Float32Array(5), 2, 3, 1), /inp needs 6/);
        }
      });
    });
  }
}
