/**
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
