// 16-bit GEMM for mixed-precision training (src/nn/linear16.ts): C (fp32) (+)= op(A) · op(B) where
// A and B hold bf16 or fp16 bit patterns (Uint16Array) and every product is accumulated in fp32.
// The Linear forward/backward need x·Wᵀ, dy·W and dyᵀ·x, so both transposes are handled (once,
// while packing), as sgemm.cc does.
//
//   gemm16(format, a, b, out, m, n, k, transA, transB, accumulate)
//       format 0 = bf16, 1 = fp16; A (m, k) or, transA, stored (k, m); B (k, n) or, transB, (n, k);
//       out (m, n) row-major; zero copy
//   encode16(format, src, dst)  dst (Uint16Array) = src (Float32Array) rounded to nearest even
//   gemm16Info()  { bf16: 'avx512bf16' | 'widen', fp16: 'avx512' | 'f16c' | 'scalar' }
//
// The loops are sgemm.cc's (BLIS's five: B block packed into NR-wide slivers shared by all threads,
// A blocks into MR-tall slivers per thread, a register-blocked micro-kernel) with the packing
// doing the conversion, so no widened copy of an operand ever exists outside a cache-sized panel:
//   - bf16 on AVX-512 BF16: vdpbf16ps multiplies 32 bf16 pairs and adds them into 16 fp32 lanes
//     (twice the multiply-adds of an fp32 FMA per instruction). It pairs ADJACENT K elements, so
//     the panels hold (k, k+1) pairs in one 32-bit word: A sliver = ⌈kc/2⌉ × MR words, B sliver =
//     ⌈kc/2⌉ × NR words; an odd K pads the last pair with 0.
//   - fp16 (and bf16 without AVX-512 BF16): panels widened to fp32 (F16C / AVX-512 vcvtph2ps, a
//     shift for bf16, a scalar bit conversion in the portable build) in exactly the layout of
//     the fp32 micro-kernel of the active ISA table (kernels.inc), which then runs unchanged.
// Products of two 16-bit values are exact in fp32 (8×8 or 11×11 significant bits), so both paths
// differ from a float64 dot of the widened operands only by fp32 accumulation rounding (and
// vdpbf16ps flushes denormal inputs/outputs to 0, below ~1e-38).
//
// The path follows the float kernels' ISA (selectIsa / QKV_NATIVE_ISA), so tests reach each one:
// 'avx512' uses vdpbf16ps when the CPU has it, 'avx2' the F16C widening, 'portable' scalar widening.
//
// Legend: M, N, K are the matmul sizes (M×K times K×N); MR×NR the micro-tile; kc a K block.
#include <napi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

#include "half16.h"
#include "isa.h"
#include "pool.h"

ThreadPool& kernelPool();          // addon.cc
const KernelTable& kernelTable();  // dispatch.cc

namespace {

enum Format { FORMAT_BF16 = 0, FORMAT_FP16 = 1 };

struct Gemm16 {
  long m, n, k;
  const uint16_t* a;
  long rsA, csA;  // element (i, p) of A at a[i·rsA + p·csA]
  const uint16_t* b;
  long rsB, csB;  // element (p, j) of B at b[p·rsB + j·csB]
  float* c;
  long ldc;
  bool accumulate;
  int format;
  HalfPath widen;
};

const long KC = 256;  // even: only the last K block may hold an odd number of columns
const long NC = 512;

void widenRun(const Gemm16& g, const uint16_t* src, long n, float* dst) { widenRun16(g.format == FORMAT_BF16, g.widen, src, n, dst); }

// ---- packing: fp32 panels for the active table's micro-kernel -----------------------------------

/** A[ic.., pc..] (mc × kc) → slivers of MR rows, kc columns of MR floats each; rows past mc are 0. */
void packAWide(const Gemm16& g, long ic, long mc, long pc, long kc, int MR, void* out, float* row) {
  float* panels = static_cast<float*>(out);
  const long slivers = (mc + MR - 1) / MR;
  const uint16_t* a = g.a + ic * g.rsA + pc * g.csA;
  if (g.csA == 1) {
    // Rows run along K: widen each row's kc values at once, then spread them down its sliver.
    for (long ir = 0; ir < mc; ir += MR) {
      float* dst = panels + ir * kc;
      const long rows = std::min<long>(MR, mc - ir);
      for (long i = 0; i < rows; i++) {
        widenRun(g, a + (ir + i) * g.rsA, kc, row);
        for (long p = 0; p < kc; p++) dst[p * MR + i] = row[p];
      }
      for (long i = rows; i < MR; i++) for (long p = 0; p < kc; p++) dst[p * MR + i] = 0;
    }
    return;
  }
  // Transposed A: column p's mc values are contiguous; one conversion per column (not per
  // sliver: the x86 converters are target functions, never inlined), then MR-value copies.
  for (long p = 0; p < kc; p++) {
    widenRun(g, a + p * g.csA, mc, row);
    for (long s = 0; s < slivers; s++) {
      float* dst = panels + s * MR * kc + p * MR;
      const long rows = std::min<long>(MR, mc - s * MR);
      memcpy(dst, row + s * MR, rows * sizeof(float));
      for (long i = rows; i < MR; i++) dst[i] = 0;
    }
  }
}

/** Slivers [s0, s1) of B[pc.., jc..] (kc × nc) → kc rows of NR floats each; columns past nc are 0. */
void packBWide(const Gemm16& g, long pc, long kc, long jc, long nc, int NR, long s0, long s1, void* out, float* row) {
  float* packed = static_cast<float*>(out);
  if (g.csB == 1) {
    // Rows of B run along N: one conversion per row for all the slivers' columns, then NR-value copies.
    const long j0 = s0 * NR, j1 = std::min<long>(s1 * NR, nc);
    if (j1 <= j0) return;
    for (long p = 0; p < kc; p++) {
      widenRun(g, g.b + (pc + p) * g.rsB + jc + j0, j1 - j0, row);
      for (long s = s0; s < s1; s++) {
        float* dst = packed + s * NR * kc + p * NR;
        const long cols = std::min<long>(NR, nc - s * NR);
        memcpy(dst, row + (s * NR - j0), cols * sizeof(float));
        for (long j = cols; j < NR; j++) dst[j] = 0;
      }
    }
    return;
  }
  for (long s = s0; s < s1; s++) {
    const long jr = s * NR;
    const long cols = std::min<long>(NR, nc - jr);
    const uint16_t* b = g.b + pc * g.rsB + (jc + jr) * g.csB;
    float* dst = packed + s * NR * kc;
    // Bᵀ stored (N, K): each column of B runs along K.
    for (long j = 0; j < cols; j++) {
      widenRun(g, b + j * g.csB, kc, row);
      for (long p = 0; p < kc; p++) dst[p * NR + j] = row[p];
    }
    for (long j = cols; j < NR; j++) for (long p = 0; p < kc; p++) dst[p * NR + j] = 0;
  }
}

// ---- packing: bf16 pairs along K for vdpbf16ps ----------------------------------------------------

inline uint32_t pairOf(uint16_t even, uint16_t odd) { return static_cast<uint32_t>(even) | (static_cast<uint32_t>(odd) << 16); }

/** A[ic.., pc..] → slivers of ⌈kc/2⌉ × MR words, word (q, i) = (A[i, 2q], A[i, 2q+1]); padding 0. */
void packAPairs(const Gemm16& g, long ic, long mc, long pc, long kc, int MR, void* out, float*) {
  uint32_t* dst = static_cast<uint32_t*>(out);
  const long pairs = (kc + 1) / 2, whole = kc / 2;
  for (long ir = 0; ir < mc; ir += MR) {
    const long rows = std::min<long>(MR, mc - ir);
    const uint16_t* a = g.a + (ic + ir) * g.rsA + pc * g.csA;
    if (g.csA == 1) {
      for (long i = 0; i < rows; i++) {
        const uint16_t* r = a + i * g.rsA;
        for (long q = 0; q < whole; q++) dst[q * MR + i] = pairOf(r[2 * q], r[2 * q + 1]);
        if (pairs > whole) dst[whole * MR + i] = pairOf(r[kc - 1], 0);
      }
    } else {
      for (long q = 0; q < pairs; q++) {
        const uint16_t* even = a + 2 * q * g.csA;
        const uint16_t* odd = 2 * q + 1 < kc ? even + g.csA : nullptr;
        for (long i = 0; i < rows; i++) dst[q * MR + i] = pairOf(even[i], odd == nullptr ? 0 : odd[i]);
      }
    }
    for (long q = 0; q < pairs; q++) for (long i = rows; i < MR; i++) dst[q * MR + i] = 0;
    dst += MR * pairs;
  }
}

/** Slivers [s0, s1) of B[pc.., jc..] → ⌈kc/2⌉ × NR words, word (q, j) = (B[2q, j], B[2q+1, j]). */
void packBPairs(const Gemm16& g, long pc, long kc, long jc, long nc, int NR, long s0, long s1, void* out, float*) {
  const long pairs = (kc + 1) / 2, whole = kc / 2;
  for (long s = s0; s < s1; s++) {
    const long jr = s * NR;
    const long cols = std::min<long>(NR, nc - jr);
    const uint16_t* b = g.b + pc * g.rsB + (jc + jr) * g.csB;
    uint32_t* dst = static_cast<uint32_t*>(out) + s * NR * pairs;
    if (g.rsB == 1 && g.csB != 1) {
      // Bᵀ stored (N, K): a column's adjacent K values are one 32-bit word already.
      for (long j = 0; j < cols; j++) {
        const uint16_t* column = b + j * g.csB;
        for (long q = 0; q < whole; q++) dst[q * NR + j] = pairOf(column[2 * q], column[2 * q + 1]);
        if (pairs > whole) dst[whole * NR + j] = pairOf(column[kc - 1], 0);
      }
    } else {
      for (long q = 0; q < pairs; q++) {
        const uint16_t* even = b + 2 * q * g.rsB;
        const uint16_t* odd = 2 * q + 1 < kc ? even + g.rsB : nullptr;
        for (long j = 0; j < cols; j++) dst[q * NR + j] = pairOf(even[j * g.csB], odd == nullptr ? 0 : odd[j * g.csB]);
      }
    }
    for (long q = 0; q < pairs; q++) for (long j = cols; j < NR; j++) dst[q * NR + j] = 0;
  }
}

// ---- the bf16 micro-kernel ------------------------------------------------------------------------

const int BF16_MR = 12, BF16_NR = 32;

#if defined(__x86_64__) || defined(_M_X64)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// C[12×32] (+)= Σ_q A-pairs[q, :] · B-pairs[q, :]: 24 accumulators stay in registers; each pair
// step loads 2 vectors of B (16 columns × 2 K values each) and broadcasts 12 pairs of A.
__attribute__((target("avx512bf16,avx512f,avx512bw,avx512vl")))
void microKernelBf16(int pairs, const void* packedA, const void* packedB, float* C, long ldc, int accumulate) {
  const uint32_t* A = static_cast<const uint32_t*>(packedA);
  const uint32_t* B = static_cast<const uint32_t*>(packedB);
  __m512 acc[BF16_MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < BF16_MR; i++) {
    acc[i][0] = _mm512_setzero_ps();
    acc[i][1] = _mm512_setzero_ps();
  }
  for (int q = 0; q < pairs; q++) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(B);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(B + 16);
#pragma GCC unroll 16
    for (int i = 0; i < BF16_MR; i++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(A[i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
    }
    A += BF16_MR;
    B += BF16_NR;
  }
#pragma GCC unroll 16
  for (int i = 0; i < BF16_MR; i++) {
    float* c = C + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(c));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(c + 16));
    }
    _mm512_storeu_ps(c, acc[i][0]);
    _mm512_storeu_ps(c + 16, acc[i][1]);
  }
}
#pragma GCC diagnostic pop
#endif

// ---- the engine: which packing and micro-kernel a call uses -------------------------------------

struct Engine {
  int MR, NR;
  bool pairs;  // panels of K pairs (vdpbf16ps), else fp32 panels
  void (*packA)(const Gemm16&, long ic, long mc, long pc, long kc, int MR, void* dst, float* row);
  void (*packB)(const Gemm16&, long pc, long kc, long jc, long nc, int NR, long s0, long s1, void* dst, float* row);
  void (*microKernel)(int depth, const void* A, const void* B, float* C, long ldc, int accumulate);
  /** Panel rows a K block of kc becomes. */
  long depth(long kc) const { return pairs ? (kc + 1) / 2 : kc; }
};

// The active table's fp32 micro-kernel behind the engine's untyped signature.
void wideMicroKernel(int depth, const void* A, const void* B, float* C, long ldc, int accumulate) {
  kernelTable().microKernel(depth, static_cast<const float*>(A), static_cast<const float*>(B), C, ldc, accumulate);
}

bool cpuRunsBf16Dot() {
#if defined(__x86_64__) || defined(_M_X64)
  return strcmp(kernelTable().name, "avx512") == 0 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

HalfPath chosenHalfPath() {
#if defined(__x86_64__) || defined(_M_X64)
  const char* isa = kernelTable().name;
  if (strcmp(isa, "avx512") == 0 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) return HALF_AVX512;
  if (strcmp(isa, "portable") != 0 && __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c")) return HALF_F16C;
#endif
  return HALF_SCALAR;
}

Engine engineFor(int format) {
#if defined(__x86_64__) || defined(_M_X64)
  if (format == FORMAT_BF16 && cpuRunsBf16Dot()) return {BF16_MR, BF16_NR, true, packAPairs, packBPairs, microKernelBf16};
#endif
  const KernelTable& kt = kernelTable();
  return {kt.MR, kt.NR, false, packAWide, packBWide, wideMicroKernel};
}

// ---- the loops (sgemm.cc's, over the engine) ------------------------------------------------------

/**
 * One OS thread's panels (a calling thread's or a pool worker's), sized for the largest engine on
 * first use and kept for the thread's life: no two threads ever share one.
 */
struct Workspace {
  void* packedA = nullptr;
  float* row = nullptr;
  float* tile = nullptr;
  void* packedB = nullptr;        // the single-thread path's own B block
  void* sharedPackedB = nullptr;  // the B block a calling thread's pool packs together
  ~Workspace() {
    free(packedA);
    free(row);
    free(tile);
    free(packedB);
    free(sharedPackedB);
  }
};
const long MAX_MR = 16, MAX_NR = 64;  // bounds every table's tile (12×32 at most today)

void* alignedWords(size_t count) {
  void* memory = aligned_alloc(64, ((count * 4 + 63) / 64) * 64);
  if (memory == nullptr) abort();
  return memory;
}

long blockRows(const Engine& e) { return e.MR * 12L; }

Workspace& threadWorkspace() {
  static thread_local Workspace ws;
  if (ws.packedA == nullptr) {
    ws.packedA = alignedWords(MAX_MR * 12 * KC);
    ws.row = static_cast<float*>(alignedWords(std::max(KC, NC)));
    ws.tile = static_cast<float*>(alignedWords(MAX_MR * MAX_NR));
    ws.packedB = alignedWords(KC * NC + MAX_NR * KC);
  }
  return ws;
}

void* callerSharedPackedB() {
  Workspace& ws = threadWorkspace();
  if (ws.sharedPackedB == nullptr) ws.sharedPackedB = alignedWords(KC * NC + MAX_NR * KC);
  return ws.sharedPackedB;
}

/** C block (mc × columns of slivers [s0, s1)) (+)= packed A · packed B. */
void macroKernel(const Engine& e, long mc, long nc, long kc, const void* A, const void* B, float* C, long ldc, bool accumulate, long s0, long s1,
                 float* tile) {
  const int MR = e.MR, NR = e.NR;
  const long depth = e.depth(kc);
  const uint32_t* panelsA = static_cast<const uint32_t*>(A);
  const uint32_t* panelsB = static_cast<const uint32_t*>(B);
  for (long s = s0; s < s1; s++) {
    const long jr = s * NR;
    const long cols = std::min<long>(NR, nc - jr);
    const uint32_t* b = panelsB + s * NR * depth;
    for (long ir = 0; ir < mc; ir += MR) {
      const long rows = std::min<long>(MR, mc - ir);
      float* c = C + ir * ldc + jr;
      const uint32_t* a = panelsA + ir * depth;
      if (rows == MR && cols == NR) {
        e.microKernel(static_cast<int>(depth), a, b, c, ldc, accumulate ? 1 : 0);
        continue;
      }
      // An edge tile: compute the whole tile aside, keep its valid part.
      e.microKernel(static_cast<int>(depth), a, b, tile, NR, 0);
      for (long i = 0; i < rows; i++) {
        float* ci = c + i * ldc;
        const float* t = tile + i * NR;
        if (accumulate) for (long j = 0; j < cols; j++) ci[j] += t[j];
        else for (long j = 0; j < cols; j++) ci[j] = t[j];
      }
    }
  }
}

// Below this many flops one thread wins (waking a worker and sharing B costs ~5–20 µs).
const double PARALLEL_MIN_FLOPS = 1 << 21;

void gemm16Run(const Gemm16& g) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) {
    if (!g.accumulate) for (long i = 0; i < g.m; i++) memset(g.c + i * g.ldc, 0, g.n * sizeof(float));
    return;
  }
  ThreadPool& pool = kernelPool();
  const int threads = 2.0 * g.m * g.n * g.k < PARALLEL_MIN_FLOPS ? 1 : pool.threads();
  const Engine e = engineFor(g.format);
  const long MC = blockRows(e);
  Workspace& own = threadWorkspace();
  void* packedB = threads == 1 ? own.packedB : callerSharedPackedB();
  for (long jc = 0; jc < g.n; jc += NC) {
    const long nc = std::min(NC, g.n - jc);
    const long slivers = (nc + e.NR - 1) / e.NR;
    for (long pc = 0; pc < g.k; pc += KC) {
      const long kc = std::min(KC, g.k - pc);
      const bool accumulate = g.accumulate || pc > 0;
      if (threads == 1) {
        e.packB(g, pc, kc, jc, nc, e.NR, 0, slivers, packedB, own.row);
        for (long ic = 0; ic < g.m; ic += MC) {
          const long mc = std::min(MC, g.m - ic);
          e.packA(g, ic, mc, pc, kc, e.MR, own.packedA, own.row);
          macroKernel(e, mc, nc, kc, own.packedA, packedB, g.c + ic * g.ldc + jc, g.ldc, accumulate, 0, slivers, own.tile);
        }
        continue;
      }
      // Phase 1: all threads pack (and convert) the shared B block, a few slivers each.
      const int packTasks = static_cast<int>(std::min<long>(slivers, threads * 2L));
      parallelFor(pool, packTasks, [&](int t, int) {
        e.packB(g, pc, kc, jc, nc, e.NR, slivers * t / packTasks, slivers * (t + 1) / packTasks, packedB, threadWorkspace().row);
      });
      // Phase 2: blocks of rows × groups of slivers, ~3 tasks a thread so a late thread holds no one up.
      const long rowBlocks = (g.m + MC - 1) / MC;
      const long columnGroups = std::min(slivers, std::max(1L, (3L * threads + rowBlocks - 1) / rowBlocks));
      const int tasks = static_cast<int>(rowBlocks * columnGroups);
      parallelFor(pool, tasks, [&](int t, int) {
        const long ib = t / columnGroups, group = t % columnGroups;
        const long ic = ib * MC, mc = std::min(MC, g.m - ic);
        Workspace& ws = threadWorkspace();
        e.packA(g, ic, mc, pc, kc, e.MR, ws.packedA, ws.row);
        macroKernel(e, mc, nc, kc, ws.packedA, packedB, g.c + ic * g.ldc + jc, g.ldc, accumulate, slivers * group / columnGroups,
                    slivers * (group + 1) / columnGroups, ws.tile);
      });
    }
  }
}

// ---- Node-API ---------------------------------------------------------------------------------------

#include "napi-args.h"

// gemm16(format, a, b, out, m, n, k, transA, transB, accumulate)
void Gemm16Entry(const Napi::CallbackInfo& info) {
  entryName = "gemm16";
  if (info.Length() < 10) fail(info, "expected (format, a, b, out, m, n, k, transA, transB, accumulate)");
  const long format = countArg(info, 0, "format");
  if (format > FORMAT_FP16) fail(info, "format must be 0 (bf16) or 1 (fp16), got " + std::to_string(format));
  const long m = countArg(info, 4, "m"), n = countArg(info, 5, "n"), k = countArg(info, 6, "k");
  const bool transA = info[7].ToBoolean().Value(), transB = info[8].ToBoolean().Value(), accumulate = info[9].ToBoolean().Value();
  const auto* a = static_cast<const uint16_t*>(arrayArg(info, 1, "a", napi_uint16_array, "Uint16Array", m * k));
  const auto* b = static_cast<const uint16_t*>(arrayArg(info, 2, "b", napi_uint16_array, "Uint16Array", k * n));
  auto* out = static_cast<float*>(arrayArg(info, 3, "out", napi_float32_array, "Float32Array", m * n));
  const Gemm16 g{m, n, k, a, transA ? 1 : k, transA ? m : 1, b, transB ? 1 : n, transB ? k : 1, out, n, accumulate, static_cast<int>(format),
                 chosenHalfPath()};
  gemm16Run(g);
}

// encode16(format, src, dst): dst[i] = src[i] rounded to bf16 / fp16 (to nearest even), for i < src.length
void Encode16Entry(const Napi::CallbackInfo& info) {
  entryName = "encode16";
  if (info.Length() < 3) fail(info, "expected (format, src, dst)");
  const long format = countArg(info, 0, "format");
  if (format > FORMAT_FP16) fail(info, "format must be 0 (bf16) or 1 (fp16), got " + std::to_string(format));
  bool isTyped = false;
  napi_is_typedarray(info.Env(), info[1], &isTyped);
  size_t n = 0;
  if (isTyped) napi_get_typedarray_info(info.Env(), info[1], nullptr, &n, nullptr, nullptr, nullptr);
  const auto* src = static_cast<const float*>(arrayArg(info, 1, "src", napi_float32_array, "Float32Array", n));
  auto* dst = static_cast<uint16_t*>(arrayArg(info, 2, "dst", napi_uint16_array, "Uint16Array", n));
  const bool bf16 = format == FORMAT_BF16;
  const HalfPath path = chosenHalfPath();
  ThreadPool& pool = kernelPool();
  // Chunks of whole cache lines; one thread below ~64 K elements (a wake-up costs more).
  const long chunks = n >= (1 << 16) ? pool.threads() : 1;
  parallelFor(pool, static_cast<int>(chunks), [&](int t, int) {
    const long start = static_cast<long>(n) * t / chunks / 32 * 32;
    const long end = t == chunks - 1 ? static_cast<long>(n) : static_cast<long>(n) * (t + 1) / chunks / 32 * 32;
    encodeRun16(bf16, path, src + start, end - start, dst + start);
  });
}

Napi::Value Gemm16Info(const Napi::CallbackInfo& info) {
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("bf16", cpuRunsBf16Dot() ? "avx512bf16" : "widen");
  const HalfPath widen = chosenHalfPath();
  result.Set("fp16", widen == HALF_AVX512 ? "avx512" : widen == HALF_F16C ? "f16c" : "scalar");
  return result;
}

}  // namespace

void registerGemm16(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm16", Napi::Function::New(env, Gemm16Entry, "gemm16"));
  exports.Set("encode16", Napi::Function::New(env, Encode16Entry, "encode16"));
  exports.Set("gemm16Info", Napi::Function::New(env, Gemm16Info, "gemm16Info"));
}
