/**
 * The reference matmul: plain TypeScript loops over raw typed arrays, the oracle every faster
 * kernel (WebAssembly SIMD) is tested against. See `MatmulParams` in `../types.ts`.
 *
 * reference: torch.matmul / BLAS gemm with alpha = 1, beta = accumulate ? 1 : 0
 * A[b] is (M,K) (stored (K,M) when transA), B[b] is (K,N) (stored (N,K) when transB),
 * out[b] is (M,N) contiguous at out[b·M·N]. Works on Float32Array and Float64Array alike
 * (mixed is fine); sums are carried in float64 and rounded once, when stored.
 *
 * Loop order: for B stored (K,N) it is i-k-j: one element of A times one contiguous row of B
 * added into one row of the output, so the innermost loop walks two arrays with stride 1.
 * For B stored (N,K) (transB) a row of B is a column of op(B), and i-j-k — a dot product of two
 * runs along K — keeps the inner loop contiguous instead.
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
        for (let p = 0; p < k; p++) {
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
          let sum = accumulate ? out[outRow + j] : 0;
          if (aColStep === 1) {
            for (let p = 0; p < k; p++) sum += a[aRow + p] * b[bRow + p];
          } else {
            for (let p = 0; p < k; p++) sum += a[aRow + p * aColStep] * b[bRow + p];
          }
          out[outRow + j] = sum;
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
