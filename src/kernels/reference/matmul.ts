/**
 * The reference matmul: plain TypeScript loops over raw typed arrays, the oracle every faster
 * kernel (WebAssembly SIMD) is tested against. See `MatmulParams` in `../types.ts`.
 *
 * reference: torch.matmul / BLAS gemm with alpha = 1, beta = accumulate ? 1 : 0
 * A[b] is (M,K) (stored (K,M) when transA), B[b] is (K,N) (stored (N,K) when transB),
 * out[b] is (M,N) contiguous at out[b·M·N]. Works on Float32Array and Float64Array alike
 * (mixed is fine); sums are carried in float64 and rounded once, when stored.
 *
 * Loop order: for B stored (K,N) it is i-k-j: elements of A times contiguous rows of B added
 * into one row of sums, so the innermost loop walks its arrays with stride 1. For B stored (N,K)
 * (transB) a row of B is a column of op(B), and i-j-k — a dot product of two runs along K —
 * keeps the inner loop contiguous instead. Both unroll K by four (see the loops for why).
 */
import { QkvValueError } from '../../tensor/errors.ts';
import type { MatmulKernel, MatmulParams, Storage } from '../types.ts';

export const matmulReference: MatmulKernel = (a, b, out, params) => {
  const { batch, m, n, k } = params;
  const transA = params.transA ?? false;
  const transB = params.transB ?? false;
  const accumulate = params.accumulate ?? false;
  const strideA = params.strideA ?? m * k;
  const strideB = params.strideB ?? k * n;
  const offsetA = params.offsetA ?? 0;
  const offsetB = params.offsetB ?? 0;
  checkBounds(a, b, out, params, strideA, strideB, offsetA, offsetB);

  // Position of op(A)[i, p] is aBase + i·aRowStep + p·aColStep.
  const aRowStep = transA ? 1 : k;
  const aColStep = transA ? m : 1;
  const rowSums = new Float64Array(n);

  for (let batchIndex = 0; batchIndex < batch; batchIndex++) {
    const aBase = offsetA + batchIndex * strideA;
    const bBase = offsetB + batchIndex * strideB;
    const outBase = batchIndex * m * n;
    if (!transB) {
      for (let i = 0; i < m; i++) {
        const outRow = outBase + i * n;
        if (accumulate) for (let j = 0; j < n; j++) rowSums[j] = out[outRow + j];
        else rowSums.fill(0);
        const aRow = aBase + i * aRowStep;
        let p = 0;
        // Four rows of B per pass: the row of sums is loaded and stored once per four
        // multiply-adds instead of once per one (about 2× faster in V8).
        for (; p + 4 <= k; p += 4) {
          const a0 = a[aRow + p * aColStep];
          const a1 = a[aRow + (p + 1) * aColStep];
          const a2 = a[aRow + (p + 2) * aColStep];
          const a3 = a[aRow + (p + 3) * aColStep];
          const b0 = bBase + p * n;
          const b1 = b0 + n;
          const b2 = b1 + n;
          const b3 = b2 + n;
          for (let j = 0; j < n; j++) rowSums[j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
        }
        for (; p < k; p++) {
          const aValue = a[aRow + p * aColStep];
          const bRow = bBase + p * n;
          for (let j = 0; j < n; j++) rowSums[j] += aValue * b[bRow + j];
        }
        for (let j = 0; j < n; j++) out[outRow + j] = rowSums[j];
      }
    } else {
      for (let i = 0; i < m; i++) {
        const outRow = outBase + i * n;
        const aRow = aBase + i * aRowStep;
        for (let j = 0; j < n; j++) {
          const bRow = bBase + j * k;
          // Four independent partial sums, so consecutive adds do not wait on each other.
          let sum0 = 0;
          let sum1 = 0;
          let sum2 = 0;
          let sum3 = 0;
          let p = 0;
          for (; p + 4 <= k; p += 4) {
            sum0 += a[aRow + p * aColStep] * b[bRow + p];
            sum1 += a[aRow + (p + 1) * aColStep] * b[bRow + p + 1];
            sum2 += a[aRow + (p + 2) * aColStep] * b[bRow + p + 2];
            sum3 += a[aRow + (p + 3) * aColStep] * b[bRow + p + 3];
          }
          for (; p < k; p++) sum0 += a[aRow + p * aColStep] * b[bRow + p];
          const dot = sum0 + sum1 + (sum2 + sum3);
          out[outRow + j] = accumulate ? out[outRow + j] + dot : dot;
        }
      }
    }
  }
};

/**
 * Out-of-range reads on a typed array give `undefined` (NaN after arithmetic) rather than an
 * error, so a wrong size or stride would silently poison results: check the extremes first.
 */
function checkBounds(
  a: Storage,
  b: Storage,
  out: Storage,
  params: MatmulParams,
  strideA: number,
  strideB: number,
  offsetA: number,
  offsetB: number,
): void {
  const { batch, m, n, k } = params;
  for (const [name, value] of [['batch', batch], ['m', m], ['n', n], ['k', k], ['strideA', strideA], ['strideB', strideB], ['offsetA', offsetA], ['offsetB', offsetB]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new QkvValueError(`matmulReference: ${name} must be a non-negative integer, got ${value}`);
  }
  if (batch === 0 || m === 0 || n === 0) return;
  if (out.length < batch * m * n) {
    throw new QkvValueError(`matmulReference: out has ${out.length} elements, needs batch·M·N = ${batch}·${m}·${n} = ${batch * m * n}`);
  }
  if (k === 0) return;
  const lastA = offsetA + (batch - 1) * strideA + m * k - 1;
  const lastB = offsetB + (batch - 1) * strideB + k * n - 1;
  if (lastA >= a.length) throw new QkvValueError(`matmulReference: A has ${a.length} elements, but batch ${batch - 1} reads up to index ${lastA}`);
  if (lastB >= b.length) throw new QkvValueError(`matmulReference: B has ${b.length} elements, but batch ${batch - 1} reads up to index ${lastB}`);
}
