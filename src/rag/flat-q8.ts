/**
 * The flat store's Q8_0 shadow copy of its rows, and the error bound that lets a search over it
 * stay exact (./flat-prefilter.ts). One query over f32 rows reads N·C·4 bytes (154 MB at
 * 100k × 384); over Q8_0 blocks it reads N·C/32·34 (41 MB), on the native int8·int8 kernel
 * (src/kernels/native/quant.cc, the same `qmatmul` the quantised models run).
 *
 * Layout per row r (C a multiple of 32):
 *   blocks    C/32 Q8_0 blocks of the row scaled by 2^−e_r: d (fp16) | qs[32] int8, ŵ′ = d·q
 *   terms     three float32 a row, interleaved (one stream for the scan to read):
 *     rowScale  2^e_r, with max|w_r|·2^−e_r in [0.5, 1): fp16 scales then stay in their normal
 *               range for any row length (an `ip` store may hold rows of any norm), and the
 *               scaling is exact (a power of two)
 *     deltaNorm 2^e_r·‖w′_r − ŵ′_r‖₂, rounded up to float32 (the rounding error, in the row's units)
 *     hatNorm   2^e_r·‖ŵ′_r‖₂, rounded up to float32
 *
 * Unlike ggml's quantize_row_q8_0, the block scale d is the smallest fp16 ≥ max|w′|/127, and the
 * codes are rounded against that very d: then |w′ − d·q| ≤ d/2 per element, with no extra error
 * from rounding d to fp16 and no clamping. The bound below uses the measured ‖w′ − ŵ′‖ anyway, so
 * it would hold for any codes.
 *
 * ## The bound: |s_f32 − s̃| ≤ bound_r
 * x is the query the f32 path multiplies (normalised for `cos`), x̂ the kernel's own rounding of it
 * (8 bits per block of 32, float32 scale; `quantizeQueryLikeKernel` repeats it bit for bit),
 * s = w·x the real inner product, s_f32 what the f32 path computes, o_r the kernel's float32
 * output for row r and s̃ = 2^e_r·o_r.
 *
 *   w′·x − ŵ′·x̂ = (w′ − ŵ′)·x + ŵ′·(x − x̂)
 *     ⇒ |w′·x − ŵ′·x̂| ≤ ‖w′ − ŵ′‖·‖x‖ + ‖ŵ′‖·‖x − x̂‖                 (Cauchy–Schwarz, whole row)
 *   The kernel: per block an exact int32 Σ q_w·q_x (|·| ≤ 32·127² < 2^24, so its float is exact),
 *   times the float32 product d·xd, summed in float32 with FMAs and a horizontal add: every term
 *   passes at most n = C/32 + 16 roundings, so (Higham, Accuracy and Stability §3.1)
 *     |o_r − ŵ′·x̂| ≤ γ_n·Σ_b |d_b·xd_b·S_b| ≤ γ_n·‖ŵ′‖·‖x̂‖,   γ_n = n·u/(1 − n·u), u = 2^−24
 *   The f32 path's own dot (any summation order, at most C + 2 roundings a term):
 *     |s_f32 − s| ≤ γ_{C+2}·‖w‖·‖x‖ ≤ γ_{C+2}·(hatNorm + deltaNorm)·‖x‖
 *   Together, with s = 2^e·(w′·x):
 *     |s_f32 − s̃| ≤ deltaNorm·‖x‖ + hatNorm·(‖x − x̂‖ + γ_n‖x̂‖) + γ_{C+2}(hatNorm + deltaNorm)‖x‖
 *                 = deltaNorm·A + hatNorm·B
 *   with A = ‖x‖(1 + γ_{C+2}),  B = ‖x − x̂‖ + γ_n‖x̂‖ + γ_{C+2}‖x‖, per query. Underflow adds at
 *   most one subnormal step (2^−149) a rounding: (n + C + 2)·2^−149 absolute, in `QueryBound.floor`.
 *   The norms are summed in float64 (relative error ≤ C·2^−53, covered by the 2^−30 inflation) and
 *   s̃ ± bound is evaluated in float64 (covered by 2^−48·‖x̂‖ in B, as |s̃| ≤ hatNorm·‖x̂‖·(1 + γ_n)).
 * Overflow is the one thing the bound cannot cover: the prefilter steps aside when
 * max_r ‖w_r‖·‖x‖ could reach float32's range (`maxRowNorm`).
 *
 * Legend: N = stored rows, C = dimension (a multiple of 32).
 */
import { toFloat16Bits } from '../io/half.ts';
import { float16Values, type QuantizedMatrix } from '../compress/formats.ts';

const BLOCK = 32;
const BLOCK_BYTES = 34;

/** Relative inflation of every norm: float64 rounding of sums of C squares and of the products. */
const NORM_INFLATION = 1 + 2 ** -30;

/** γ_n = n·u/(1 − n·u) for float32 (u = 2^−24): the relative error bound of n roundings. */
export function gamma32(n: number): number {
  const nu = n * 2 ** -24;
  return nu / (1 - nu);
}

/** The smallest float32 ≥ value (value ≥ 0): a stored norm may only err upwards. */
function float32AtLeast(value: number): number {
  const rounded = Math.fround(value);
  if (rounded >= value) return rounded;
  scratchF32[0] = rounded;
  scratchU32[0]++; // positive float32 patterns are ordered like their values
  return scratchF32[0];
}
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The smallest fp16 ≥ value (value ≥ 0 and ≤ 65504), as its bit pattern. */
function fp16AtLeast(value: number): number {
  const half = float16Values();
  let bits = toFloat16Bits(value);
  if (half[bits] < value) bits++; // positive fp16 patterns are ordered like their values
  return bits;
}

/**
 * Q8_0 blocks of (N, C) rows with the per-row norms the bound needs; rows are (re)quantised
 * lazily: `markStale` on add or replace, `refresh` before a search.
 */
export class QuantizedRows {
  readonly dim: number;
  readonly rowBytes: number;
  blocks = new Uint8Array(0); // (capacity, C/32 blocks of 34 bytes)
  /** (capacity, 3): rowScale, deltaNorm, hatNorm of each row. */
  terms = new Float32Array(0);
  /** An upper bound of ‖w_r‖ over the rows (not lowered by deletes: it only has to be an upper bound). */
  maxRowNorm = 0;
  private stale = new Uint8Array(0);
  private staleCount = 0;
  private codes = new Int8Array(0); // `blocks` read as signed bytes
  private readonly blockScale: Float64Array;
  private readonly blockInverse: Float64Array;

  constructor(dim: number) {
    if (dim % BLOCK !== 0) throw new RangeError(`QuantizedRows: dim ${dim} is not a multiple of ${BLOCK}`);
    this.dim = dim;
    this.rowBytes = (dim / BLOCK) * BLOCK_BYTES;
    this.blockScale = new Float64Array(dim / BLOCK);
    this.blockInverse = new Float64Array(dim / BLOCK);
  }

  /** Room for the blocks and terms of `rows` rows (grown only here, before quantising: not on every add). */
  private ensureCapacity(rows: number): void {
    if (rows * 3 <= this.terms.length) return;
    const capacity = Math.max(rows, Math.ceil(1.25 * (this.terms.length / 3)), 16);
    const blocks = new Uint8Array(capacity * this.rowBytes);
    blocks.set(this.blocks);
    this.blocks = blocks;
    this.codes = new Int8Array(blocks.buffer);
    const terms = new Float32Array(capacity * 3);
    terms.set(this.terms);
    this.terms = terms;
  }

  markStale(row: number): void {
    if (row >= this.stale.length) {
      const grown = new Uint8Array(Math.max(row + 1, 2 * this.stale.length, 16));
      grown.set(this.stale);
      this.stale = grown;
    }
    if (this.stale[row] === 0) this.staleCount++;
    this.stale[row] = 1;
  }

  /** Rows waiting to be (re)quantised. */
  get staleRows(): number {
    return this.staleCount;
  }

  /** Row `from` moves to `to` (the flat store's delete: the last row fills the hole); `from` is then unused. */
  moveRow(from: number, to: number): void {
    // A row past the blocks' capacity was added after the last refresh, so it is stale: its
    // flag moves and the copies below (no-ops past the end) do not matter.
    this.blocks.copyWithin(to * this.rowBytes, from * this.rowBytes, (from + 1) * this.rowBytes);
    this.terms.copyWithin(3 * to, 3 * from, 3 * from + 3);
    if (this.stale[to] !== 0) this.staleCount--;
    this.stale[to] = this.stale[from];
    this.dropRow(from);
  }

  /** Row `row` is no longer in use (a delete of the last row). */
  dropRow(row: number): void {
    if (this.stale[row] !== 0) this.staleCount--;
    this.stale[row] = 0;
  }

  /** Quantises every stale row among the first `rows` of `data` (N, C). */
  refresh(data: Float32Array, rows: number): void {
    if (this.staleCount === 0) return;
    this.ensureCapacity(rows);
    for (let row = 0; row < rows && this.staleCount > 0; row++) {
      if (this.stale[row] === 0) continue;
      this.quantizeRow(data, row);
      this.stale[row] = 0;
      this.staleCount--;
    }
    this.staleCount = 0; // stale rows past `rows` were deleted rows
    this.stale.fill(0, rows);
  }

  /** The first `rows` rows as a Q8_0 matrix for `qmatmul` (a view, no copy). */
  matrix(rows: number): QuantizedMatrix {
    return { format: 'q8_0', rows, cols: this.dim, data: this.blocks.subarray(0, rows * this.rowBytes) };
  }

  /** Row `row` of `data` → its blocks and norms (see the header for the rule). */
  quantizeRow(data: Float32Array, row: number): void {
    const C = this.dim;
    const base = row * C;
    const half = float16Values();
    const codes = this.codes;
    const blockScale = this.blockScale; // (C/32) max|w| of each block, then its d
    const blockInverse = this.blockInverse; // (C/32) 2^−e / d
    const out = this.blocks;
    const at = row * this.rowBytes;
    let amax = 0;
    let total = 0; // Σ|w|: NaN, ±∞ or past float32 (then the row is unbounded, conservatively)
    for (let b = 0; b < C / BLOCK; b++) {
      let blockMax = 0;
      for (let j = base + b * BLOCK; j < base + (b + 1) * BLOCK; j++) {
        const a = Math.abs(data[j]);
        total += a;
        if (a > blockMax) blockMax = a;
      }
      blockScale[b] = blockMax;
      if (blockMax > amax) amax = blockMax;
    }
    if (!(total <= 3.4028234663852886e38)) {
      this.setUnbounded(row);
      return;
    }
    let exponent = amax === 0 ? 0 : Math.floor(Math.log2(amax)) + 1;
    if (amax !== 0 && amax * 2 ** -exponent >= 1) exponent++; // log2 rounding at powers of two
    if (amax !== 0 && amax * 2 ** -exponent < 0.5) exponent--;
    if (exponent > 127) {
      this.setUnbounded(row); // 2^128 is past float32: such a row (max|w| ≥ 2^127) is always a candidate
      return;
    }
    const down = 2 ** -exponent; // exact: w′ = w·down is exact in float64
    for (let b = 0; b < C / BLOCK; b++) {
      const bits = fp16AtLeast((blockScale[b] * down) / 127);
      const dst = at + b * BLOCK_BYTES;
      out[dst] = bits & 0xff;
      out[dst + 1] = bits >>> 8;
      blockScale[b] = half[bits];
      blockInverse[b] = half[bits] === 0 ? 0 : down / half[bits];
    }
    // Whole-row loops (codes, then sums) rather than one loop a block: V8 runs them ~3x faster.
    // Any rounding of w′/d would do (the error is measured below): adding and taking away
    // 1.5·2^52 rounds to the nearest integer (ties to even) for |v| < 2^51, and
    // |w·(down/d)| ≤ 127·(1 + 2^−52)² rounds to ≤ 127.
    const ROUNDER = 6755399441055744;
    for (let i = 0; i < C; i++) codes[at + BLOCK_BYTES * (i >> 5) + 2 + (i & 31)] = data[base + i] * blockInverse[i >> 5] + ROUNDER - ROUNDER;
    let deltaSquares = 0;
    let hatSquares = 0;
    let normSquares = 0;
    for (let i = 0; i < C; i++) {
      const scaled = data[base + i] * down;
      const hat = blockScale[i >> 5] * codes[at + BLOCK_BYTES * (i >> 5) + 2 + (i & 31)];
      deltaSquares += (scaled - hat) * (scaled - hat);
      hatSquares += hat * hat;
      normSquares += scaled * scaled;
    }
    const up = 2 ** exponent;
    this.terms[3 * row] = up;
    this.terms[3 * row + 1] = float32AtLeast(up * Math.sqrt(deltaSquares) * NORM_INFLATION);
    this.terms[3 * row + 2] = float32AtLeast(up * Math.sqrt(hatSquares) * NORM_INFLATION);
    this.maxRowNorm = Math.max(this.maxRowNorm, up * Math.sqrt(normSquares) * NORM_INFLATION);
  }

  /**
   * No bound exists (NaN or ±∞ in the row, or entries past 2^127): zero codes and an infinite
   * bound make the row a candidate every time, so the f32 re-score decides (NaN is skipped there,
   * ±∞ ranks as the f32 path ranks it).
   */
  private setUnbounded(row: number): void {
    this.blocks.fill(0, row * this.rowBytes, (row + 1) * this.rowBytes);
    this.terms[3 * row] = 1;
    this.terms[3 * row + 1] = Infinity;
    this.terms[3 * row + 2] = 0; // (maxRowNorm need not cover it: an always-candidate is re-scored, never bounded)
  }
}

/** The query as the kernel rounds it, and the per-query constants of the bound. */
export interface QueryBound {
  /** bound_r = deltaNorm_r·A + hatNorm_r·B + floor. */
  A: number;
  B: number;
  floor: number;
  /** ‖x‖ (for the overflow check). */
  norm: number;
}

/** C's roundf: half away from zero. */
function roundHalfAway(value: number): number {
  return value < 0 ? -Math.round(-value) : Math.round(value);
}

/**
 * The kernel's rounding of x (quant-blocks.h `quantizeActivationRow`: per block of 32, float32
 * d = amax/127, id = 1/d, q = roundf(x·id) clamped to ±127), repeated in float32 with
 * Math.fround (a float32 ×, ÷ done in float64 and rounded once is the float32 result). Returns
 * the codes and scales (for tests) and x − x̂, x̂ norms; null when x holds NaN or ±∞.
 */
export function quantizeQueryLikeKernel(x: Float32Array): { codes: Int8Array; scales: Float32Array; errorNorm: number; hatNorm: number; norm: number } | null {
  const C = x.length;
  const f = Math.fround;
  const codes = new Int8Array(C);
  const scales = new Float32Array(C / BLOCK);
  let errorSquares = 0;
  let hatSquares = 0;
  let normSquares = 0;
  for (let b = 0; b < C / BLOCK; b++) {
    let amax = 0;
    for (let j = 0; j < BLOCK; j++) {
      const a = Math.abs(x[b * BLOCK + j]);
      if (!(a <= 3.4028234663852886e38)) return null;
      if (a > amax) amax = a;
    }
    const d = f(amax / 127);
    const id = d !== 0 ? f(1 / d) : 0;
    scales[b] = d;
    for (let j = 0; j < BLOCK; j++) {
      const v = x[b * BLOCK + j];
      const q = Math.max(-127, Math.min(127, roundHalfAway(f(v * id))));
      codes[b * BLOCK + j] = q;
      const hat = d * q; // exact in float64 (24 × 8 significant bits)
      errorSquares += (v - hat) * (v - hat);
      hatSquares += hat * hat;
      normSquares += v * v;
    }
  }
  return { codes, scales, errorNorm: Math.sqrt(errorSquares) * NORM_INFLATION, hatNorm: Math.sqrt(hatSquares) * NORM_INFLATION, norm: Math.sqrt(normSquares) * NORM_INFLATION };
}

/** The per-query constants A, B, floor of the bound (see the header); null for a non-finite query. */
export function queryBound(x: Float32Array): QueryBound | null {
  const rounded = quantizeQueryLikeKernel(x);
  if (rounded === null) return null;
  const C = x.length;
  const kernelRoundings = C / BLOCK + 16;
  const gammaKernel = gamma32(kernelRoundings);
  const gammaF32 = gamma32(C + 2);
  const A = rounded.norm * (1 + gammaF32) * NORM_INFLATION;
  const B = (rounded.errorNorm + gammaKernel * rounded.hatNorm + gammaF32 * rounded.norm + 2 ** -48 * rounded.hatNorm) * NORM_INFLATION;
  const floor = (kernelRoundings + C + 2) * 2 ** -149;
  return { A, B, floor, norm: rounded.norm };
}
