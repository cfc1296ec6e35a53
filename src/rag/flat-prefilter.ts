/**
 * Exact top-k for one query in two passes: approximate scores for all N rows from their Q8_0
 * copy on the native int8 kernel (41 MB read at 100k × 384, against 154 MB for the f32 rows),
 * each with a rigorous interval [s̃ − bound, s̃ + bound] ∋ s_f32 (./flat-q8.ts derives it), then
 * the f32 score of only those rows whose interval reaches the k-th best lower end.
 *
 * Why that is exact: let τ be the k-th largest lower end among the rows the filter keeps. Those
 * k rows all have s_f32 ≥ τ. A row whose upper end is below τ has s_f32 < τ, strictly below k
 * others, so it is in no top-k, ties included. Every other kept row (the candidates) is re-scored
 * by the very kernel call the f32 path makes (`matmul`, one query, rows of Bᵀ read in place: a
 * dot per row whose value depends only on that row and the query), so the candidates' scores are
 * the f32 path's bit for bit, and `topK` over them in row order breaks ties as it does over all N.
 *
 * It steps aside (returns null, the caller runs the f32 path) when it cannot win or cannot
 * promise: no native quantised kernel, a query with NaN or ±∞, scores that could overflow
 * float32, or more than N/4 candidates (all-equal rows, k near N, a selective filter).
 *
 * Legend: N = stored rows, C = dimension.
 */
import { matmul } from '../kernels/index.ts';
import type { NativeQmatmul } from '../compress/qmatmul-native.ts';
import { queryBound, type QuantizedRows, type QueryBound } from './flat-q8.ts';
import { topK } from './vector-store.ts';

export interface PrefilterInput {
  /** The query exactly as the f32 path multiplies it (normalised for `cos`), C floats. */
  query: Float32Array;
  /** The resident f32 rows (N, C). */
  vectors: Float32Array;
  rows: QuantizedRows;
  N: number;
  k: number;
  keep?: (row: number) => boolean;
  qmatmul: NativeQmatmul;
  /** Scratch of at least N floats for the approximate scores. */
  approximate: Float32Array;
}

export interface PrefilterResult {
  /** Rows of the exact top-k, best first, and their f32 scores. */
  rows: number[];
  scores: number[];
  /** Rows re-scored in f32. */
  candidates: number;
}

/** More candidates than N/4: reading their f32 rows scattered costs about what the full pass does. */
const MAX_CANDIDATE_FRACTION = 0.25;

/** Scores past this could overflow float32 somewhere in a dot (the bound assumes they do not). */
const OVERFLOW_GUARD = 2 ** 120;

export function prefilterSearch(input: PrefilterInput): PrefilterResult | null {
  const { query, vectors, rows, N, k, keep, approximate } = input;
  const C = rows.dim;
  const bound = queryBound(query);
  if (bound === null || rows.maxRowNorm * bound.norm * Math.sqrt(C) >= OVERFLOW_GUARD) return null;
  const size = Math.min(k, N);
  if (size >= N * MAX_CANDIDATE_FRACTION) return null;

  // Pass 1 (native): o (N) = x̂ · Ŵ′ᵀ on the Q8_0 blocks.
  const out = approximate.subarray(0, N);
  input.qmatmul(out, query, 1, rows.matrix(N));

  // Pass 2, one scan: τ = the k-th largest lower end so far among kept rows (a size-k min-heap of
  // values); a row whose upper end reaches the τ of its moment is kept as a candidate. τ only
  // rises, so a row dropped then is below the final τ too; the list is trimmed to the final τ after.
  const terms = rows.terms; // (N, 3): rowScale, deltaNorm, hatNorm
  const { A, B, floor } = bound;
  const heap = new Float64Array(size);
  let filled = 0;
  let tau = -Infinity;
  const limit = Math.floor(N * MAX_CANDIDATE_FRACTION);
  let candidates = new Int32Array(Math.min(limit, 1024));
  let count = 0;
  for (let r = 0; r < N; r++) {
    const scale = terms[3 * r];
    const approx = out[r] * scale;
    const halfWidth = terms[3 * r + 1] * A + terms[3 * r + 2] * B + floor * (1 + scale);
    if (approx + halfWidth < tau) continue; // NaN (an unbounded row, a NaN score) stays in
    if (keep !== undefined && !keep(r)) continue;
    if (count === candidates.length) {
      count = trimCandidates(candidates, count, out, terms, bound, tau);
      if (count > candidates.length / 2) {
        // trimming freed less than half: grow, up to the limit
        if (candidates.length < limit) {
          const grown = new Int32Array(Math.min(limit, 2 * candidates.length));
          grown.set(candidates.subarray(0, count));
          candidates = grown;
        } else if (count === candidates.length) return null;
      }
    }
    candidates[count++] = r;
    const lower = approx - halfWidth;
    if (lower !== lower || (filled === size && !(lower > heap[0]))) continue;
    if (filled < size) {
      siftUp(heap, filled++, lower);
      if (filled === size) tau = heap[0];
    } else {
      replaceMin(heap, size, lower);
      tau = heap[0];
    }
  }
  count = trimCandidates(candidates, count, out, terms, bound, tau);
  if (count > limit) return null;

  // Re-score in f32: runs of consecutive rows in one call each, read in place (offsetB).
  const exact = new Float32Array(count);
  for (let start = 0; start < count; ) {
    let end = start + 1;
    while (end < count && candidates[end] === candidates[end - 1] + 1) end++;
    matmul(query, vectors, exact.subarray(start, end), { batch: 1, m: 1, n: end - start, k: C, transB: true, offsetB: candidates[start] * C });
    start = end;
  }
  const best = topK(exact, 0, count, k);
  return { rows: best.map((i) => candidates[i]), scores: best.map((i) => exact[i]), candidates: count };
}

/** Keeps the candidates whose upper end reaches `tau` (in place, order kept); returns how many. */
function trimCandidates(candidates: Int32Array, count: number, out: Float32Array, terms: Float32Array, bound: QueryBound, tau: number): number {
  let kept = 0;
  for (let i = 0; i < count; i++) {
    const r = candidates[i];
    const scale = terms[3 * r];
    const upper = out[r] * scale + (terms[3 * r + 1] * bound.A + terms[3 * r + 2] * bound.B + bound.floor * (1 + scale));
    if (!(upper < tau)) candidates[kept++] = r;
  }
  return kept;
}

/** Min-heap of values: inserts `value` at slot `at` (= the current size) and sifts it up. */
function siftUp(heap: Float64Array, at: number, value: number): void {
  let c = at;
  heap[c] = value;
  while (c > 0) {
    const parent = (c - 1) >> 1;
    if (heap[parent] <= value) break;
    heap[c] = heap[parent];
    c = parent;
  }
  heap[c] = value;
}

/** Min-heap of `size` values: replaces the minimum by `value` and sifts it down. */
function replaceMin(heap: Float64Array, size: number, value: number): void {
  let p = 0;
  for (;;) {
    const left = 2 * p + 1;
    if (left >= size) break;
    const right = left + 1;
    const child = right < size && heap[right] < heap[left] ? right : left;
    if (heap[child] >= value) break;
    heap[p] = heap[child];
    p = child;
  }
  heap[p] = value;
}
