// See sgemm.h. The loops (BLIS's five):
//   for jc over N by NC:            B block (KC × NC) packed into NR-wide slivers, lives in L2
//     for pc over K by KC:
//       for ic over M by MC:        A block (MC × KC) packed into MR-tall slivers
//         for jr over NC by NR:     B sliver (KC × NR) stays in L1 across the ir loop
//           for ir over MC by MR:   micro-kernel: MR×NR of C in registers
#include "sgemm.h"

#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

static const long KC = 256;
static const long NC = 512;
// MC = MR · 12: 144 rows (AVX-512), 72 (AVX2), 48 (portable); the packed A block ~150 KB at most.
static long blockRows(const KernelTable& kt) { return kt.MR * 12L; }

/**
 * One OS thread's packing buffers (a calling thread's or a pool worker's), made on first use and
 * kept for the thread's life: no allocation per call, and no two threads ever share one.
 */
namespace {  // gemm16.cc has a Workspace of its own
struct Workspace {
  float* packedA = nullptr;
  float* packedB = nullptr;
  float* tile = nullptr;
  /** The B block a calling thread's pool packs together and every task reads (sgemmParallel). */
  float* sharedPackedB = nullptr;
  ~Workspace() {
    free(packedA);
    free(packedB);
    free(tile);
    free(sharedPackedB);
  }
};
}  // namespace

static float* alignedFloats(size_t count) {
  void* memory = aligned_alloc(64, ((count * sizeof(float) + 63) / 64) * 64);
  if (memory == nullptr) abort();
  return static_cast<float*>(memory);
}

static Workspace& threadWorkspace() {
  static thread_local Workspace ws;
  if (ws.packedA == nullptr) {
    const KernelTable& kt = kernelTable();
    ws.packedA = alignedFloats(blockRows(kt) * KC);
    ws.packedB = alignedFloats(KC * NC);
    ws.tile = alignedFloats(kt.MR * kt.NR);
  }
  return ws;
}

static float* callerSharedPackedB() {
  Workspace& ws = threadWorkspace();
  if (ws.sharedPackedB == nullptr) ws.sharedPackedB = alignedFloats(KC * NC);
  return ws.sharedPackedB;
}

// ---- packing (shared by every ISA) ------------------------------------------------------------

/** A[ic.., pc..] (mc × kc) → slivers of MR rows, each kc columns of MR values; rows past mc are 0. */
static void packA(const Gemm& g, long ic, long mc, long pc, long kc, int MR, float* dst) {
  for (long ir = 0; ir < mc; ir += MR) {
    const long rows = std::min<long>(MR, mc - ir);
    const float* a = g.a + (ic + ir) * g.rsA + pc * g.csA;
    if (g.rsA == 1 && rows == MR) {
      // Transposed A: the MR values of one column are contiguous.
      for (long p = 0; p < kc; p++) memcpy(dst + p * MR, a + p * g.csA, MR * sizeof(float));
    } else {
      for (long p = 0; p < kc; p++) {
        float* d = dst + p * MR;
        long i = 0;
        for (; i < rows; i++) d[i] = a[i * g.rsA + p * g.csA];
        for (; i < MR; i++) d[i] = 0;
      }
    }
    dst += MR * kc;
  }
}

/** Slivers [s0, s1) of B[pc.., jc..] (kc × nc) → kc rows of NR values each; columns past nc are 0. */
static void packB(const Gemm& g, long pc, long kc, long jc, long nc, int NR, long s0, long s1, float* packed) {
  for (long s = s0; s < s1; s++) {
    const long jr = s * NR;
    const long cols = std::min<long>(NR, nc - jr);
    const float* b = g.b + pc * g.rsB + (jc + jr) * g.csB;
    float* dst = packed + s * NR * kc;
    if (g.csB == 1 && cols == NR) {
      for (long p = 0; p < kc; p++) memcpy(dst + p * NR, b + p * g.rsB, NR * sizeof(float));
    } else {
      for (long p = 0; p < kc; p++) {
        float* d = dst + p * NR;
        long j = 0;
        for (; j < cols; j++) d[j] = b[p * g.rsB + j * g.csB];
        for (; j < NR; j++) d[j] = 0;
      }
    }
  }
}

/** C block (mc × columns of slivers [s0, s1)) (+)= packed A · packed B. */
static void macroKernel(const KernelTable& kt, long mc, long nc, long kc, const float* A, const float* B, float* C, long ldc, bool accumulate,
                        long s0, long s1, float* tile) {
  const int MR = kt.MR, NR = kt.NR;
  for (long s = s0; s < s1; s++) {
    const long jr = s * NR;
    const long cols = std::min<long>(NR, nc - jr);
    const float* b = B + s * NR * kc;
    for (long ir = 0; ir < mc; ir += MR) {
      const long rows = std::min<long>(MR, mc - ir);
      float* c = C + ir * ldc + jr;
      const float* a = A + ir * kc;
      if (rows == MR && cols == NR) {
        kt.microKernel(static_cast<int>(kc), a, b, c, ldc, accumulate ? 1 : 0);
        continue;
      }
      // An edge tile: compute the whole tile aside, keep its valid part.
      kt.microKernel(static_cast<int>(kc), a, b, tile, NR, 0);
      for (long i = 0; i < rows; i++) {
        float* ci = c + i * ldc;
        const float* t = tile + i * NR;
        if (accumulate) for (long j = 0; j < cols; j++) ci[j] += t[j];
        else for (long j = 0; j < cols; j++) ci[j] = t[j];
      }
    }
  }
}

static void zeroOrKeep(const Gemm& g) {
  if (g.accumulate) return;
  for (long i = 0; i < g.m; i++) memset(g.c + i * g.ldc, 0, g.n * sizeof(float));
}

void sgemmOnThread(const Gemm& g) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) return zeroOrKeep(g);
  const KernelTable& kt = kernelTable();
  Workspace& ws = threadWorkspace();
  const long MC = blockRows(kt);
  for (long jc = 0; jc < g.n; jc += NC) {
    const long nc = std::min(NC, g.n - jc);
    const long slivers = (nc + kt.NR - 1) / kt.NR;
    for (long pc = 0; pc < g.k; pc += KC) {
      const long kc = std::min(KC, g.k - pc);
      const bool accumulate = g.accumulate || pc > 0;
      packB(g, pc, kc, jc, nc, kt.NR, 0, slivers, ws.packedB);
      for (long ic = 0; ic < g.m; ic += MC) {
        const long mc = std::min(MC, g.m - ic);
        packA(g, ic, mc, pc, kc, kt.MR, ws.packedA);
        macroKernel(kt, mc, nc, kc, ws.packedA, ws.packedB, g.c + ic * g.ldc + jc, g.ldc, accumulate, 0, slivers, ws.tile);
      }
    }
  }
}

void sgemmParallel(const Gemm& g) {
  ThreadPool& pool = kernelPool();
  const int threads = pool.threads();
  if (threads == 1 || g.m == 0 || g.n == 0 || g.k == 0) return sgemmOnThread(g);
  float* sharedPackedB = callerSharedPackedB();
  const KernelTable& kt = kernelTable();
  const long MC = blockRows(kt);
  for (long jc = 0; jc < g.n; jc += NC) {
    const long nc = std::min(NC, g.n - jc);
    const long slivers = (nc + kt.NR - 1) / kt.NR;
    for (long pc = 0; pc < g.k; pc += KC) {
      const long kc = std::min(KC, g.k - pc);
      const bool accumulate = g.accumulate || pc > 0;
      // Phase 1: all threads pack the shared B block, a few slivers each.
      const int packTasks = static_cast<int>(std::min<long>(slivers, threads * 2L));
      parallelFor(pool, packTasks, [&](int t, int) {
        packB(g, pc, kc, jc, nc, kt.NR, slivers * t / packTasks, slivers * (t + 1) / packTasks, sharedPackedB);
      });
      // Phase 2: blocks of rows × groups of slivers, ~3 tasks a thread so a late thread holds no one up.
      const long rowBlocks = (g.m + MC - 1) / MC;
      const long columnGroups = std::min(slivers, std::max(1L, (3L * threads + rowBlocks - 1) / rowBlocks));
      const int tasks = static_cast<int>(rowBlocks * columnGroups);
      parallelFor(pool, tasks, [&](int t, int) {
        const long ib = t / columnGroups, group = t % columnGroups;
        const long ic = ib * MC, mc = std::min(MC, g.m - ic);
        Workspace& ws = threadWorkspace();
        packA(g, ic, mc, pc, kc, kt.MR, ws.packedA);
        macroKernel(kt, mc, nc, kc, ws.packedA, sharedPackedB, g.c + ic * g.ldc + jc, g.ldc, accumulate,
                    slivers * group / columnGroups, slivers * (group + 1) / columnGroups, ws.tile);
      });
    }
  }
}

// ---- a few rows of A: matrix-vector products ---------------------------------------------------

// Decoding multiplies one row (M = 1) by every weight matrix: packing B would read and write all
// of it once more than the product itself reads it. Rows of B (or of Bᵀ) are used in place
// instead, and the columns of C split across threads, each streaming its own part of B.
static const long SMALL_M = 4;

static void gemvColumns(const Gemm& g, long j0, long j1) {
  const KernelTable& kt = kernelTable();
  for (long i = 0; i < g.m; i++) {
    float* c = g.c + i * g.ldc;
    const float* a = g.a + i * g.rsA;
    if (g.csB == 1) {
      // B (K, N) row-major: c[j0..j1) += a[p]·B[p, j0..j1) for each p.
      if (!g.accumulate) memset(c + j0, 0, (j1 - j0) * sizeof(float));
      for (long p = 0; p < g.k; p++) kt.axpy(j1 - j0, a[p * g.csA], g.b + p * g.rsB + j0, c + j0);
    } else if (g.rsB == 1 && g.csA == 1) {
      // Bᵀ stored (N, K): c[j] = a · B[:, j], two contiguous runs of K.
      for (long j = j0; j < j1; j++) {
        const float value = kt.dot(g.k, a, g.b + j * g.csB);
        c[j] = g.accumulate ? c[j] + value : value;
      }
    } else {
      for (long j = j0; j < j1; j++) {
        float value = 0;
        for (long p = 0; p < g.k; p++) value += a[p * g.csA] * g.b[p * g.rsB + j * g.csB];
        c[j] = g.accumulate ? c[j] + value : value;
      }
    }
  }
}

// B (K, N) row-major split by rows: thread t streams rows [k0, k1) of B, one contiguous block,
// into its own partial C, and the partials are summed after. Splitting the columns instead has
// every thread read half of every row, short strided runs that the hardware prefetchers follow
// badly: on 2 threads the 12 block matvecs of a GPT-2 124M decode step took 29 ms against 20 on
// one thread. The partial sums change the order of the additions, so the result may differ from
// one thread's in the last bits (within the tests' tolerance).
static void gemvRowsParallel(const Gemm& g, int tasks) {
  ThreadPool& pool = kernelPool();
  const KernelTable& kt = kernelTable();
  // (tasks − 1) partial C's of (m, n); task 0 adds into C itself.
  std::vector<float> partials(static_cast<size_t>(tasks - 1) * g.m * g.n, 0.0f);
  parallelFor(pool, tasks, [&](int t, int) {
    const long k0 = g.k * t / tasks, k1 = g.k * (t + 1) / tasks;
    for (long i = 0; i < g.m; i++) {
      const float* a = g.a + i * g.rsA;
      float* c = t == 0 ? g.c + i * g.ldc : partials.data() + (static_cast<size_t>(t - 1) * g.m + i) * g.n;
      if (t == 0 && !g.accumulate) memset(c, 0, g.n * sizeof(float));
      for (long p = k0; p < k1; p++) kt.axpy(g.n, a[p * g.csA], g.b + p * g.rsB, c);
    }
  });
  for (int t = 1; t < tasks; t++) {
    for (long i = 0; i < g.m; i++) kt.axpy(g.n, 1.0f, partials.data() + (static_cast<size_t>(t - 1) * g.m + i) * g.n, g.c + i * g.ldc);
  }
}

static void gemvParallel(const Gemm& g) {
  ThreadPool& pool = kernelPool();
  const double flops = 2.0 * g.m * g.n * g.k;
  if (g.csB == 1 && pool.threads() > 1 && flops >= (1 << 18) && g.k >= 2L * pool.threads()) {
    gemvRowsParallel(g, pool.threads());
    return;
  }
  // Columns in blocks of 64 (whole cache lines of C and of B's rows per thread).
  const long blocks = (g.n + 63) / 64;
  const int tasks = (pool.threads() > 1 && flops >= (1 << 18)) ? (int)std::min<long>(blocks, pool.threads() * 2L) : 1;
  parallelFor(pool, tasks, [&](int t, int) {
    const long j0 = std::min(g.n, blocks * t / tasks * 64), j1 = std::min(g.n, blocks * (t + 1) / tasks * 64);
    if (j1 > j0) gemvColumns(g, j0, j1);
  });
}

// Below this many flops one thread wins (waking a worker and sharing B costs ~5–20 µs).
static const double PARALLEL_MIN_FLOPS = 1 << 21;

void sgemmBatched(const Gemm& g, long batch, long strideA, long strideB, long strideC) {
  ThreadPool& pool = kernelPool();
  const int threads = pool.threads();
  const double flops = 2.0 * batch * g.m * g.n * g.k;
  auto entry = [&](long i) {
    Gemm e = g;
    e.a = g.a + i * strideA;
    e.b = g.b + i * strideB;
    e.c = g.c + i * strideC;
    return e;
  };
  if (g.m <= SMALL_M && g.k > 0 && g.n > 0) {
    for (long i = 0; i < batch; i++) gemvParallel(entry(i));
    return;
  }
  if (threads == 1 || flops < PARALLEL_MIN_FLOPS) {
    for (long i = 0; i < batch; i++) sgemmOnThread(entry(i));
    return;
  }
  if (batch >= 2L * threads || (batch >= threads && batch % threads == 0)) {
    const int tasks = static_cast<int>(std::min<long>(batch, threads * 4L));
    parallelFor(pool, tasks, [&](int t, int) {
      for (long i = batch * t / tasks; i < batch * (t + 1) / tasks; i++) sgemmOnThread(entry(i));
    });
    return;
  }
  for (long i = 0; i < batch; i++) sgemmParallel(entry(i));
}
