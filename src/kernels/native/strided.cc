// Strided elementwise loops, float32: out = a (a copy between layouts) or out = a ∘ b, each
// operand through its own strides over one (already coalesced) shape. The port of
// src/kernels/reference/elementwise.ts; one operation per element, so the same bits.
// The outer axes are split across threads when the op is large (memory-bound, but a second
// core still adds bandwidth and hides the loop overhead).
#include "strided.h"

#include <string.h>

#include <algorithm>

#include "sgemm.h"

template <int OP>
static inline float apply(float x, float y) {
  if (OP == OP_ADD) return x + y;
  if (OP == OP_SUB) return x - y;
  if (OP == OP_MUL) return x * y;
  return x / y;
}

template <int OP>
static void row(long n, float* out, long so, const float* a, long sa, const float* b, long sb) {
  if (OP == OP_COPY) {
    if (so == 1 && sa == 1) {
      memcpy(out, a, n * sizeof(float));
    } else {
      for (long i = 0; i < n; i++) out[i * so] = a[i * sa];
    }
    return;
  }
  if (so == 1 && sa == 1 && sb == 1) {
#pragma omp simd
    for (long i = 0; i < n; i++) out[i] = apply<OP>(a[i], b[i]);
  } else if (so == 1 && sa == 1 && sb == 0) {
    const float y = b[0];
#pragma omp simd
    for (long i = 0; i < n; i++) out[i] = apply<OP>(a[i], y);
  } else if (so == 1 && sa == 0 && sb == 1) {
    const float x = a[0];
#pragma omp simd
    for (long i = 0; i < n; i++) out[i] = apply<OP>(x, b[i]);
  } else {
    for (long i = 0; i < n; i++) out[i * so] = apply<OP>(a[i * sa], b[i * sb]);
  }
}

template <int OP>
static void rows(const StridedOp& s, long first, long last) {
  const int rank = s.rank;
  const long inner = s.dims[rank - 1];
  // The storage offsets of outer row `first`, from its index digits.
  long index[8] = {0};
  long o = 0, ia = 0, ib = 0;
  long rest = first;
  for (int axis = rank - 2; axis >= 0; axis--) {
    index[axis] = rest % s.dims[axis];
    rest /= s.dims[axis];
    o += index[axis] * s.outStrides[axis];
    ia += index[axis] * s.aStrides[axis];
    ib += index[axis] * s.bStrides[axis];
  }
  for (long r = first; r < last; r++) {
    row<OP>(inner, s.out + o, s.outStrides[rank - 1], s.a + ia, s.aStrides[rank - 1], s.b + ib, s.bStrides[rank - 1]);
    for (int axis = rank - 2; axis >= 0; axis--) {
      index[axis]++;
      o += s.outStrides[axis];
      ia += s.aStrides[axis];
      ib += s.bStrides[axis];
      if (index[axis] < s.dims[axis]) break;
      o -= s.outStrides[axis] * s.dims[axis];
      ia -= s.aStrides[axis] * s.dims[axis];
      ib -= s.bStrides[axis] * s.dims[axis];
      index[axis] = 0;
    }
  }
}

// Below this many elements one thread wins (~4 µs of work).
static const long PARALLEL_MIN_ELEMENTS = 1 << 16;

void stridedElementwise(const StridedOp& s) {
  long outer = 1, size = 1;
  for (int axis = 0; axis < s.rank; axis++) size *= s.dims[axis];
  if (size == 0) return;
  for (int axis = 0; axis + 1 < s.rank; axis++) outer *= s.dims[axis];
  void (*run)(const StridedOp&, long, long) = s.op == OP_COPY ? rows<OP_COPY> : s.op == OP_ADD ? rows<OP_ADD> : s.op == OP_SUB ? rows<OP_SUB> : s.op == OP_MUL ? rows<OP_MUL> : rows<OP_DIV>;
  ThreadPool& pool = kernelPool();
  if (pool.threads() == 1 || size < PARALLEL_MIN_ELEMENTS || outer < 2) {
    // One long row (a dense pair) splits along the row instead.
    if (outer == 1 && pool.threads() > 1 && size >= PARALLEL_MIN_ELEMENTS) {
      const int tasks = pool.threads();
      parallelFor(pool, tasks, [&](int t, int) {
        const long i0 = size * t / tasks, i1 = size * (t + 1) / tasks;
        StridedOp part = s;
        part.dims[0] = i1 - i0;
        part.out += i0 * s.outStrides[0];
        part.a += i0 * s.aStrides[0];
        part.b += i0 * s.bStrides[0];
        run(part, 0, 1);
      });
      return;
    }
    run(s, 0, outer);
    return;
  }
  const int tasks = (int)std::min<long>(outer, pool.threads());
  parallelFor(pool, tasks, [&](int t, int) { run(s, outer * t / tasks, outer * (t + 1) / tasks); });
}
