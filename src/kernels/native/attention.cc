// Fused scaled dot-product attention, forward and backward, one head per task:
//   S = scale · Q·Kᵀ, masked (causal: key j > query i; padding: key j padded) to −∞,
//   P = softmax(S) row by row, out = P·V, lse = log Σ exp(S) per row, kept for the backward.
// The port of src/kernels/assembly/attention.ts: one (T, T) tile per head per thread (two in the
// backward: P and dP), the backward recomputing P from lse; the products on the packed sgemm.
//
// Legend: B = batch, NH = heads, T = time, hs = head size. q, k, v, out, dout, dq, dk, dv are
// (B·NH, T, hs) row-major; lse (B·NH, T); keyPad (B, T) bytes, 1 = padded key, or null.
#include "attention.h"

#include <math.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "sgemm.h"

// Causal attention skips the zero upper triangle in row blocks of RB queries: block [r0, r1)
// needs keys [0, r1) only (~25% less multiply work at T = 128).
static const int RB = 64;

/** This OS thread's P then dP (2·T² floats), grown on first need and kept for the thread's life. */
static float* threadScratch(int T) {
  static thread_local std::vector<float> scratch;
  if (scratch.size() < 2 * (size_t)T * T) scratch.resize(2 * (size_t)T * T);
  return scratch.data();
}

static void gemm(long m, long n, long k, const float* a, long rsA, long csA, const float* b, long rsB, long csB, float* c, long ldc) {
  sgemmOnThread(Gemm{m, n, k, a, rsA, csA, b, rsB, csB, c, ldc, false});
}

/** S (T×T, row stride T) = X·Yᵀ; causal: row block [r0, r1) gets columns [0, r1) only. */
static void scores(int T, int hs, const float* x, const float* y, bool causal, float* S) {
  if (!causal) return gemm(T, T, hs, x, hs, 1, y, 1, hs, S, T);
  for (int r0 = 0; r0 < T; r0 += RB) {
    const int r1 = std::min(T, r0 + RB);
    gemm(r1 - r0, r1, hs, x + (long)r0 * hs, hs, 1, y, 1, hs, S + (long)r0 * T, T);
  }
}

/** out (T, hs) = L·Y, L lower triangular when causal: block [r0, r1) sums over [0, r1). */
static void timesLowerRows(int T, int hs, const float* L, const float* y, float* out, bool causal) {
  if (!causal) return gemm(T, hs, T, L, T, 1, y, hs, 1, out, hs);
  for (int r0 = 0; r0 < T; r0 += RB) {
    const int r1 = std::min(T, r0 + RB);
    gemm(r1 - r0, hs, r1, L + (long)r0 * T, T, 1, y, hs, 1, out + (long)r0 * hs, hs);
  }
}

/** out (T, hs) = Lᵀ·Y, L lower triangular when causal: out row j sums over i ≥ j. */
static void transposedTimesUpperRows(int T, int hs, const float* L, const float* y, float* out, bool causal) {
  if (!causal) return gemm(T, hs, T, L, 1, T, y, hs, 1, out, hs);
  for (int r0 = 0; r0 < T; r0 += RB) {
    const int r1 = std::min(T, r0 + RB);
    gemm(r1 - r0, hs, T - r0, L + (long)r0 * T + r0, 1, T, y + (long)r0 * hs, hs, 1, out + (long)r0 * hs, hs);
  }
}

/** Heads split across threads when there is enough work (~1 MFLOP a head group). */
template <typename F>
static void forEachHead(const AttentionShape& s, int factor, F&& perHead) {
  ThreadPool& pool = kernelPool();
  const long heads = (long)s.B * s.NH;
  const bool split = pool.threads() > 1 && heads > 1 && (double)factor * heads * s.T * s.T * s.hs >= (1 << 22);
  const int threads = split ? pool.threads() : 1;
  if (!split) {
    for (long h = 0; h < heads; h++) perHead(h);
    return;
  }
  const int tasks = (int)std::min<long>(heads, threads * 4L);
  parallelFor(pool, tasks, [&](int t, int) {
    for (long h = heads * t / tasks; h < heads * (t + 1) / tasks; h++) perHead(h);
  });
}

void attentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, float* out, float* lse) {
  const KernelTable& kt = kernelTable();
  const int T = s.T, hs = s.hs;
  forEachHead(s, 4, [&](long head) {
    float* P = threadScratch(T);
    const long offset = head * T * hs;
    const uint8_t* pad = s.keyPad == nullptr ? nullptr : s.keyPad + (head / s.NH) * T;
    scores(T, hs, q + offset, k + offset, s.causal, P);
    for (int i = 0; i < T; i++) {
      const int end = s.causal ? i + 1 : T;
      lse[head * T + i] = kt.softmaxRow(P + (long)i * T, T, end, pad, s.scale);
    }
    timesLowerRows(T, hs, P, v + offset, out + offset, s.causal);
  });
}

void attentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* out, const float* dout, const float* lse,
                       float* dq, float* dk, float* dv) {
  const KernelTable& kt = kernelTable();
  const int T = s.T, hs = s.hs;
  forEachHead(s, 10, [&](long head) {
    float* P = threadScratch(T);
    float* dP = P + (long)T * T;
    const long offset = head * T * hs;
    const uint8_t* pad = s.keyPad == nullptr ? nullptr : s.keyPad + (head / s.NH) * T;
    scores(T, hs, q + offset, k + offset, s.causal, P);
    for (int i = 0; i < T; i++) {
      float* row = P + (long)i * T;
      const float rowLse = lse[head * T + i];
      if (rowLse == -INFINITY) {
        memset(row, 0, T * sizeof(float));
        continue;
      }
      kt.expRowShifted(row, T, s.causal ? i + 1 : T, pad, s.scale, rowLse);
    }
    transposedTimesUpperRows(T, hs, P, dout + offset, dv + offset, s.causal);  // dV = Pᵀ·dO
    scores(T, hs, dout + offset, v + offset, s.causal, dP);                    // dP = dO·Vᵀ
    // dS = P ⊙ (dP − D)·scale, D_i = Σ_c dO[i,c]·out[i,c]; only the columns `scores` computed.
    for (int i = 0; i < T; i++) {
      const float* o = out + offset + (long)i * hs;
      const float* d = dout + offset + (long)i * hs;
      float D = 0;
      for (int c = 0; c < hs; c++) D += d[c] * o[c];
      const int end = s.causal ? std::min(T, (i / RB + 1) * RB) : T;
      kt.softmaxGradRow(dP + (long)i * T, P + (long)i * T, end, D, s.scale);
    }
    timesLowerRows(T, hs, dP, k + offset, dq + offset, s.causal);            // dQ = dS·K
    transposedTimesUpperRows(T, hs, dP, q + offset, dk + offset, s.causal);  // dK = dSᵀ·Q
  });
}
