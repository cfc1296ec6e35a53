/**
 * The reductions on the kernel interface, the oracles of the native ones: column sums (over
 * leading axes), row sums and row maxima (over the last axis), and the sum of squares of a
 * gradient norm.
 *
 * Column sums of a row-major (rows, cols) block: the reduction over leading axes that a bias
 * gradient is (Σ over B·T rows of a (B·T, C) gradient), the oracle of the native kernel.
 *
 * Totals are carried in float64 and summed in row order, four rows per sweep (each column still
 * in row order, so the same result as one row at a time, with a quarter of the loads and stores
 * of the running totals); out[c] = totals[c]·scale, rounded once.
 */
import type { Storage } from '../types.ts';

export function columnSums(out: Storage, a: Storage, offset: number, rows: number, cols: number, scale: number): void {
  const totals = new Float64Array(cols);
  let position = offset;
  let row = 0;
  for (; row + 4 <= rows; row += 4) {
    const r1 = position + cols;
    const r2 = r1 + cols;
    const r3 = r2 + cols;
    for (let o = 0; o < cols; o++) {
      let total = totals[o];
      total += a[position + o];
      total += a[r1 + o];
      total += a[r2 + o];
      total += a[r3 + o];
      totals[o] = total;
    }
    position = r3 + cols;
  }
  for (; row < rows; row++) {
    for (let o = 0; o < cols; o++) totals[o] += a[position + o];
    position += cols;
  }
  for (let o = 0; o < cols; o++) out[o] = totals[o] * scale;
}

/**
 * Sums over the middle axis of a row-major (outer, C, inner) block: a reduction over any run of
 * consecutive axes of a contiguous tensor (dim 1 of (B, C, L), the batch axes of (N, C, H, W) with
 * outer = 1 are columnSums). out[o·inner + i] = scale·Σ_c a[offset + (o·C + c)·inner + i], in
 * float64, in c order, rounded once (the native kernel sums in the same order: bit for bit).
 */
export function axisSums(out: Storage, a: Storage, offset: number, outer: number, C: number, inner: number, scale: number): void {
  const totals = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    totals.fill(0);
    let position = offset + o * C * inner;
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < inner; i++) totals[i] += a[position + i];
      position += inner;
    }
    const base = o * inner;
    for (let i = 0; i < inner; i++) out[base + i] = totals[i] * scale;
  }
}

/**
 * Mean and Σ(x − mean)² over the middle axis of a row-major (outer, C, inner) block, the two
 * passes of a variance (BatchNorm's statistics over (N, C, L) are outer·inner rows of this
 * after a transpose; Tensor.variance over one run of consecutive axes is this directly).
 * means[o·inner + i], squares[o·inner + i] in float64, each pass summed in c order.
 */
export function axisMoments(means: Float64Array, squares: Float64Array, a: Storage, offset: number, outer: number, C: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    const start = offset + o * C * inner;
    const base = o * inner;
    for (let i = 0; i < inner; i++) means[base + i] = 0;
    for (let c = 0; c < C; c++) for (let i = 0; i < inner; i++) means[base + i] += a[start + c * inner + i];
    for (let i = 0; i < inner; i++) {
      means[base + i] /= C;
      squares[base + i] = 0;
    }
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < inner; i++) {
        const d = a[start + c * inner + i] - means[base + i];
        squares[base + i] += d * d;
      }
    }
  }
}

/**
 * Row sums of a row-major (rows, C) block: the last-axis reduction (sum, mean) of a contiguous
 * tensor. out[r] = scale·Σ_c a[offset + r·C + c], accumulated in float64, rounded once.
 */
export function rowSums(out: Storage, a: Storage, offset: number, rows: number, C: number, scale: number): void {
  for (let r = 0; r < rows; r++) {
    const base = offset + r * C;
    let total = 0;
    for (let c = 0; c < C; c++) total += a[base + c];
    out[r] = total * scale;
  }
}

/**
 * Row maxima of a row-major (rows, C) block and where they are: the first index on ties, and a
 * NaN wins (as torch.max). C ≥ 1. indices hold integer values in the storage's own type.
 */
export function rowMax(values: Storage, indices: Storage, a: Storage, offset: number, rows: number, C: number): void {
  for (let r = 0; r < rows; r++) {
    const base = offset + r * C;
    let best = a[base];
    let bestIndex = 0;
    if (best === best) {
      for (let c = 1; c < C; c++) {
        const v = a[base + c];
        if (v > best || v !== v) {
          best = v;
          bestIndex = c;
          if (v !== v) break;
        }
      }
    }
    values[r] = best;
    indices[r] = bestIndex;
  }
}

/** Σ a[offset + i]² over n values in float64: the squared L2 norm that gradient clipping takes. */
export function sumOfSquares(a: Storage, offset: number, n: number): number {
  let total = 0;
  for (let i = offset; i < offset + n; i++) total += a[i] * a[i];
  return total;
}
