// @ts-nocheck — AssemblyScript, compiled by `asc` (scripts/build-wasm.mjs), not by tsc.
//
// sgemm: C (+)= A·B in float32, blocked and packed the BLIS way so the inner loop runs from
// registers and L1:
//   for jc over N by NC:            B block  (KC × NC) packed into NR-wide slivers, lives in L2/L3
//     for pc over K by KC:
//       for ic over M by MC:        A block  (MC × KC) packed into MR-tall slivers, lives in L2
//         for jr over NC by NR:     B sliver (KC × NR) stays in L1 across the ir loop
//           for ir over MC by MR:   micro-kernel: MR×NR of C held in 8 f32x4 registers
//
// Legend: M, N, K are the matmul sizes (M×K times K×N). Every pointer is a byte address in the
// imported (shared) memory; element (i, p) of A is at a + 4·(i·rsA + p·csA), so a transposed
// operand is just swapped strides, handled once while packing.
//
// MR×NR = 4×8: 8 accumulators + 2 B vectors + 4 broadcast A = 14 of the 15 xmm registers V8
// allocates on x64. Measured here (best of many runs, 512²–1024², one thread): 4×8 37–45 GFLOP/s,
// 3×12 36–41, 2×16 37–41, 6×8 22 (V8 hoists the six broadcasts and spills accumulators).

// @ts-ignore: decorator
@inline const MR: i32 = 4;
// @ts-ignore: decorator
@inline const NR: i32 = 8;
// @ts-ignore: decorator
@inline const KC: i32 = 256;
// @ts-ignore: decorator
@inline const MC: i32 = 96;
// @ts-ignore: decorator
@inline const NC: i32 = 1024;
// MC must be a multiple of MR and NC of NR (the packed blocks hold whole slivers). Block sizes
// hardly matter here (KC 128–512, MC 64–192, NC 256–1024 all within 3% at 512²–1024²): the 4×8
// kernel runs at the 128-bit FMA peak, ~50 GFLOP/s per core on this machine.

/** Block sizes, for the JS side that splits work: [MR, NR, KC, NC]. */
export function blockSizes(which: i32): i32 {
  return which == 0 ? MR : which == 1 ? NR : which == 2 ? KC : NC;
}

/** Bytes of scratch one thread needs: packed A block, packed B block, one edge tile. */
export function workspaceBytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  // Relaxed SIMD lowers to one fused multiply-add; the plain build needs a mul and an add.
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * C (+)= A·B for an m×n block of C. `accumulate` = 0 overwrites C, 1 adds into it.
 * `work` points at workspaceBytes() of per-thread scratch.
 */
export function sgemm(
  m: i32, n: i32, k: i32,
  a: usize, rsA: i32, csA: i32,
  b: usize, rsB: i32, csB: i32,
  c: usize, ldc: i32,
  accumulate: i32, work: usize,
): void {
  gemm(m, n, k, a, rsA, csA, b, rsB, csB, 0, c, ldc, accumulate, work);
}

/**
 * Like `sgemm`, with all of B already packed by `packBBlockAt` (for the same n and k): threads
 * that split the rows of one matmul then share one packed B instead of each packing their own.
 */
export function sgemmPackedB(
  m: i32, n: i32, k: i32,
  a: usize, rsA: i32, csA: i32,
  packedB: usize,
  c: usize, ldc: i32,
  accumulate: i32, work: usize,
): void {
  gemm(m, n, k, a, rsA, csA, 0, 0, 0, packedB, c, ldc, accumulate, work);
}

/** Floats that all of a k×n B takes packed: every block's width rounds up to NR. */
export function packedBFloats(k: i32, n: i32): i32 {
  return k * ((n + NR - 1) / NR) * NR;
}

/** Pack block (jc, pc) of B (jc a multiple of NC, pc of KC) into its place in `packedB`. */
export function packBBlockAt(k: i32, n: i32, b: usize, rsB: i32, csB: i32, packedB: usize, jc: i32, pc: i32): void {
  const nc = min(NC, n - jc);
  const kc = min(KC, k - pc);
  packBBlock(kc, nc, b + 4 * (<usize>pc * rsB + <usize>jc * csB), rsB, csB, packedBAt(packedB, k, jc, pc, nc));
}

/** Where block (jc, pc) starts in a packed B: full blocks before it are k × NC floats each. */
// @ts-ignore: decorator
@inline function packedBAt(packedB: usize, k: i32, jc: i32, pc: i32, nc: i32): usize {
  const ncPadded = (nc + NR - 1) / NR * NR;
  return packedB + 4 * (<usize>jc * k + <usize>pc * ncPadded);
}

/** The loop nest of the header; packs B block by block into `work` unless `packedB` != 0. */
export function gemm(
  m: i32, n: i32, k: i32,
  a: usize, rsA: i32, csA: i32,
  b: usize, rsB: i32, csB: i32, packedB: usize,
  c: usize, ldc: i32,
  accumulate: i32, work: usize,
): void {
  if (m <= 0 || n <= 0) return;
  const packA = work;
  const packBWork = work + <usize>(MC * KC * 4);
  const tile = packBWork + <usize>(KC * NC * 4);
  if (k <= 0) {
    if (!accumulate) zeroBlock(m, n, c, ldc);
    return;
  }
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const addToC = accumulate != 0 || pc > 0;
      let packB = packBWork;
      if (packedB != 0) {
        packB = packedBAt(packedB, k, jc, pc, nc);
      } else {
        packBBlock(kc, nc, b + 4 * (<usize>pc * rsB + <usize>jc * csB), rsB, csB, packB);
      }
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packABlock(mc, kc, a + 4 * (<usize>ic * rsA + <usize>pc * csA), rsA, csA, packA);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const pb = packB + <usize>(jr * kc * 4);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const pa = packA + <usize>(ir * kc * 4);
            const cTile = c + 4 * (<usize>(ic + ir) * ldc + <usize>(jc + jr));
            if (mr == MR && nr == NR) {
              kernel4x8(kc, pa, pb, cTile, <usize>ldc << 2, addToC);
            } else {
              // Edge tile: compute the full 4×8 into scratch, then copy the valid mr×nr part.
              kernel4x8(kc, pa, pb, tile, NR << 2, false);
              storeEdge(mr, nr, tile, cTile, ldc, addToC);
            }
          }
        }
      }
    }
  }
}

function zeroBlock(m: i32, n: i32, c: usize, ldc: i32): void {
  for (let i = 0; i < m; i++) memory.fill(c + 4 * <usize>i * ldc, 0, <usize>n << 2);
}

function storeEdge(mr: i32, nr: i32, tile: usize, c: usize, ldc: i32, addToC: bool): void {
  for (let i = 0; i < mr; i++) {
    const row = c + 4 * <usize>i * ldc;
    const src = tile + <usize>(i * NR * 4);
    for (let j = 0; j < nr; j++) {
      const v = load<f32>(src + (<usize>j << 2));
      const dst = row + (<usize>j << 2);
      store<f32>(dst, addToC ? load<f32>(dst) + v : v);
    }
  }
}

/** MR-tall slivers: sliver s holds, for p = 0..kc-1, A[s·MR + 0..MR-1][p]; rows past mc are 0. */
function packABlock(mc: i32, kc: i32, a: usize, rsA: i32, csA: i32, dst: usize): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const mr = min(MR, mc - i0);
    const src = a + 4 * <usize>i0 * rsA;
    if (mr == MR && csA == 1) {
      // A row-major: 4 rows are 4 streams along k; read 4 columns of each, transpose in registers.
      const rs = <usize>rsA << 2;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const s = src + (<usize>p << 2);
        transpose4x4Store(v128.load(s), v128.load(s + rs), v128.load(s + 2 * rs), v128.load(s + 3 * rs), dst + <usize>(p * MR * 4), MR * 4);
      }
      for (; p < kc; p++) {
        const s = src + (<usize>p << 2);
        const d = dst + <usize>(p * MR * 4);
        for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), load<f32>(s + <usize>r * rs));
      }
    } else if (mr == MR && rsA == 1) {
      // A transposed in memory (K×M): the 4 values of one column are contiguous.
      const cs = <usize>csA << 2;
      for (let p = 0; p < kc; p++) v128.store(dst + <usize>(p * MR * 4), v128.load(src + <usize>p * cs));
    } else {
      for (let p = 0; p < kc; p++) {
        const d = dst + <usize>(p * MR * 4);
        for (let r = 0; r < MR; r++) {
          const v: f32 = r < mr ? load<f32>(src + 4 * (<usize>r * rsA + <usize>p * csA)) : 0;
          store<f32>(d + (<usize>r << 2), v);
        }
      }
    }
    dst += <usize>(kc * MR * 4);
  }
}

/** NR-wide slivers: sliver s holds, for p = 0..kc-1, B[p][s·NR + 0..NR-1]; columns past nc are 0. */
function packBBlock(kc: i32, nc: i32, b: usize, rsB: i32, csB: i32, dst: usize): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const nr = min(NR, nc - j0);
    const src = b + 4 * <usize>j0 * csB;
    if (nr == NR && csB == 1) {
      const rs = <usize>rsB << 2;
      for (let p = 0; p < kc; p++) {
        const s = src + <usize>p * rs;
        const d = dst + <usize>(p * NR * 4);
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
      }
    } else if (nr == NR && rsB == 1) {
      // B transposed in memory (N×K): 8 streams along k; transpose 4×4 blocks in registers.
      const cs = <usize>csB << 2;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const s = src + (<usize>p << 2);
        const d = dst + <usize>(p * NR * 4);
        transpose4x4Store(v128.load(s), v128.load(s + cs), v128.load(s + 2 * cs), v128.load(s + 3 * cs), d, NR * 4);
        const s4 = s + 4 * cs;
        transpose4x4Store(v128.load(s4), v128.load(s4 + cs), v128.load(s4 + 2 * cs), v128.load(s4 + 3 * cs), d + 16, NR * 4);
      }
      for (; p < kc; p++) {
        const d = dst + <usize>(p * NR * 4);
        for (let j = 0; j < NR; j++) store<f32>(d + (<usize>j << 2), load<f32>(src + (<usize>p << 2) + <usize>j * cs));
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const d = dst + <usize>(p * NR * 4);
        for (let j = 0; j < NR; j++) {
          const v: f32 = j < nr ? load<f32>(src + 4 * (<usize>p * rsB + <usize>j * csB)) : 0;
          store<f32>(d + (<usize>j << 2), v);
        }
      }
    }
    dst += <usize>(kc * NR * 4);
  }
}

/** Rows r0..r3 (4 floats each) are stored as columns: dst + i·strideBytes gets (r0[i], r1[i], r2[i], r3[i]). */
// @ts-ignore: decorator
@inline function transpose4x4Store(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, strideBytes: i32): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5); // r0[0] r1[0] r0[1] r1[1]
  const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5); // r2[0] r3[0] r2[1] r3[1]
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  const s = <usize>strideBytes;
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store(dst + s, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
  v128.store(dst + 2 * s, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * s, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
}

/** The MR×NR = 4×8 register tile: C[0..4][0..8] (+)= Apanel(4×kc) · Bpanel(kc×8). */
// @ts-ignore: decorator
@inline function kernel4x8(kc: i32, pa: usize, pb: usize, c: usize, ldcBytes: usize, addToC: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(pa);
    const a1 = v128.load32_splat(pa, 4);
    const a2 = v128.load32_splat(pa, 8);
    const a3 = v128.load32_splat(pa, 12);
    c00 = madd(a0, b0, c00); c01 = madd(a0, b1, c01);
    c10 = madd(a1, b0, c10); c11 = madd(a1, b1, c11);
    c20 = madd(a2, b0, c20); c21 = madd(a2, b1, c21);
    c30 = madd(a3, b0, c30); c31 = madd(a3, b1, c31);
    pa += 16;
    pb += 32;
  }
  const c1 = c + ldcBytes, c2 = c1 + ldcBytes, c3 = c2 + ldcBytes;
  if (addToC) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c1)); c11 = f32x4.add(c11, v128.load(c1, 16));
    c20 = f32x4.add(c20, v128.load(c2)); c21 = f32x4.add(c21, v128.load(c2, 16));
    c30 = f32x4.add(c30, v128.load(c3)); c31 = f32x4.add(c31, v128.load(c3, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c1, c10); v128.store(c1, c11, 16);
  v128.store(c2, c20); v128.store(c2, c21, 16);
  v128.store(c3, c30); v128.store(c3, c31, 16);
}
