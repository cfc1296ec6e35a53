// sgemm on the chosen ISA's micro-kernel, the BLIS way: five plain loops around the micro-kernel
// that pack A and B into cache-sized panels. Only the micro-kernel is per-ISA (kernels.inc).
//
// Legend: M, N, K are the matmul sizes (M×K times K×N). Element (i, p) of A is at
// a[i·rsA + p·csA], (p, j) of B at b[p·rsB + j·csB], so a transposed operand is swapped strides,
// handled once while packing. C is row-major with row stride ldc.
#pragma once
#include <mutex>
#include "isa.h"
#include "pool.h"

struct Gemm {
  long m, n, k;
  const float* a;
  long rsA, csA;
  const float* b;
  long rsB, csB;
  float* c;
  long ldc;
  bool accumulate;  // C += A·B instead of C = A·B
};

/** The ISA table every kernel uses (dispatch.cc). */
const KernelTable& kernelTable();
/** The calling JavaScript thread's pool (addon.cc owns them; QKV_THREADS / setThreads size it). */
ThreadPool& kernelPool();

/** One matmul on the calling thread only, packing into that thread's own buffers. */
void sgemmOnThread(const Gemm& g);
/** One matmul split across the pool: B packed once by all threads, then blocks of C shared out. */
void sgemmParallel(const Gemm& g);
/**
 * out[i] (+)= A[i]·B[i] for i < batch; A[i] = a + i·strideA (0 broadcasts), likewise B; C[i] at
 * c + i·strideC. Picks the split: one thread when small, whole entries per thread when there are
 * enough, else each entry across all threads.
 */
void sgemmBatched(const Gemm& g, long batch, long strideA, long strideB, long strideC);
