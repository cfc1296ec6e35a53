// The Node-API face of the native kernels (node-addon-api): each export checks its arguments
// (typed-array kinds and lengths, so no kernel can read or write out of bounds), then runs on
// the tensors' own storage in place: zero copies. Work above a size threshold is split across
// the thread pool; the caller's thread works too, and every call returns when it is done.
//
// Legend: B = batch, T = time, C = channels, V = vocab, NH = heads, hs = head size, N = rows.
#include <napi.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "attention.h"
#include "isa.h"
#include "pool.h"
#include "sgemm.h"
#include "strided.h"

bool selectIsa(const char* isa);

// ---- the pool ---------------------------------------------------------------------------------

// One pool per JavaScript thread (the main thread and each worker_threads worker), and packing
// scratch per OS thread (sgemm.cc, attention.cc, gemm16.cc, quant.cc): data-parallel workers
// compute side by side, each on its own threads, and no kernel call takes a lock (a thread's own
// calls are sequential). A process-wide pool made two training workers take turns.
static thread_local std::unique_ptr<ThreadPool> pool;

static int defaultThreads() {
  const char* raw = getenv("QKV_THREADS");
  if (raw != nullptr && atoi(raw) >= 1) return atoi(raw);
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

ThreadPool& kernelPool() {
  // Asked from inside a task (a pool worker): that pool, whose nested loops run inline.
  if (ThreadPool* owner = ThreadPool::ofWorkerThread()) return *owner;
  if (!pool) pool.reset(new ThreadPool(defaultThreads()));
  return *pool;
}

// Row kernels below this many elements stay on one thread (~10 µs of work: a wake-up costs more).
static const long PARALLEL_MIN_ELEMENTS = 1 << 15;

// A split loop is cut into this many tasks per thread, claimed dynamically: when a worker is
// descheduled (a shared machine), the caller and the other workers take its remaining tasks instead
// of waiting for it to finish a whole 1/threads of the rows.
static const int TASKS_PER_THREAD = 4;

/** Most tasks splitRows makes: size per-task partial sums with this. */
static int maxRowTasks() { return std::max(1, TASKS_PER_THREAD * kernelPool().threads()); }

/** f(r0, r1, task) over `tasks` contiguous row ranges; returns how many tasks ran. */
template <typename F>
static int splitRows(long rows, long C, F&& f) {
  ThreadPool& p = kernelPool();
  const int tasks = (p.threads() > 1 && rows * C >= PARALLEL_MIN_ELEMENTS) ? static_cast<int>(std::min<long>(maxRowTasks(), rows)) : 1;
  parallelFor(p, tasks, [&](int t, int) { f(rows * t / tasks, rows * (t + 1) / tasks, t); });
  return tasks;
}

/** Per-task float partial sums of a (C) gradient, added into the caller's float64 accumulator. */
struct Partials {
  std::vector<float> values;
  long C;
  Partials(int tasks, long C_, bool wanted) : values(wanted ? tasks * C_ : 0, 0.f), C(C_) {}
  float* of(int task) { return values.empty() ? nullptr : values.data() + task * C; }
  void addInto(double* target, int tasks) {
    if (values.empty() || target == nullptr) return;
    for (int t = 0; t < tasks; t++) for (long c = 0; c < C; c++) target[c] += values[t * C + c];
  }
};

// ---- argument checks --------------------------------------------------------------------------

struct Args {
  const Napi::CallbackInfo& info;
  const char* kernel;

  [[noreturn]] void fail(const std::string& message) const { throw Napi::RangeError::New(info.Env(), std::string(kernel) + " (native): " + message); }

  void* array(size_t i, const char* name, napi_typedarray_type want, const char* kind, size_t need, bool optional) const {
    napi_value value = info[i];
    napi_valuetype type;
    napi_typeof(info.Env(), value, &type);
    if (optional && (type == napi_null || type == napi_undefined)) return nullptr;
    bool isTyped = false;
    napi_is_typedarray(info.Env(), value, &isTyped);
    if (!isTyped) fail(std::string(name) + " must be a " + kind);
    napi_typedarray_type actual;
    size_t length;
    void* data;
    napi_get_typedarray_info(info.Env(), value, &actual, &length, &data, nullptr, nullptr);
    if (actual != want) fail(std::string(name) + " must be a " + kind);
    if (length < need) fail(std::string(name) + " needs " + std::to_string(need) + " elements, found " + std::to_string(length));
    return data;
  }
  float* f32(size_t i, const char* name, size_t need, bool optional = false) const {
    return static_cast<float*>(array(i, name, napi_float32_array, "Float32Array", need, optional));
  }
  double* f64(size_t i, const char* name, size_t need, bool optional = false) const {
    return static_cast<double*>(array(i, name, napi_float64_array, "Float64Array", need, optional));
  }
  int32_t* i32(size_t i, const char* name, size_t need) const { return static_cast<int32_t*>(array(i, name, napi_int32_array, "Int32Array", need, false)); }
  uint8_t* u8(size_t i, const char* name, size_t need) const {
    return static_cast<uint8_t*>(array(i, name, napi_uint8_array, "Uint8Array", need, true));
  }
  size_t length(size_t i) const {
    size_t n = 0;
    napi_get_typedarray_info(info.Env(), info[i], nullptr, &n, nullptr, nullptr, nullptr);
    return n;
  }
  long count(size_t i, const char* name) const {
    const double v = info[i].As<Napi::Number>().DoubleValue();
    if (!(v >= 0 && v == (double)(long)v)) fail(std::string(name) + " must be a non-negative integer, got " + std::to_string(v));
    return static_cast<long>(v);
  }
  double number(size_t i) const { return info[i].As<Napi::Number>().DoubleValue(); }
  bool flag(size_t i) const { return info[i].ToBoolean().Value(); }
};

// ---- matmul -----------------------------------------------------------------------------------

// sgemm(a, b, out, batch, m, n, k, transA, transB, accumulate, strideA, strideB, offsetA, offsetB):
// the MatmulParams contract of src/kernels/types.ts.
static void Sgemm(const Napi::CallbackInfo& info) {
  Args args{info, "matmul"};
  const long batch = args.count(3, "batch"), m = args.count(4, "m"), n = args.count(5, "n"), k = args.count(6, "k");
  const bool transA = args.flag(7), transB = args.flag(8), accumulate = args.flag(9);
  const long strideA = args.count(10, "strideA"), strideB = args.count(11, "strideB");
  const long offsetA = args.count(12, "offsetA"), offsetB = args.count(13, "offsetB");
  const bool empty = batch == 0 || m == 0 || n == 0;
  const size_t needA = empty || k == 0 ? 0 : offsetA + (batch - 1) * strideA + m * k;
  const size_t needB = empty || k == 0 ? 0 : offsetB + (batch - 1) * strideB + k * n;
  const float* a = args.f32(0, "a", needA);
  const float* b = args.f32(1, "b", needB);
  float* out = args.f32(2, "out", empty ? 0 : batch * m * n);
  if (empty) return;
  Gemm g{m, n, k, a + offsetA, transA ? 1 : k, transA ? m : 1, b + offsetB, transB ? 1 : n, transB ? k : 1, out, n, accumulate};
  sgemmBatched(g, batch, strideA, strideB, m * n);
}

// ---- attention --------------------------------------------------------------------------------

static AttentionShape attentionShape(const Args& args, size_t at) {
  AttentionShape s;
  s.B = (int)args.count(at, "B");
  s.NH = (int)args.count(at + 1, "NH");
  s.T = (int)args.count(at + 2, "T");
  s.hs = (int)args.count(at + 3, "hs");
  s.causal = args.flag(at + 4);
  s.keyPad = args.u8(at + 5, "keyPadding", (size_t)s.B * s.T);
  s.scale = (float)args.number(at + 6);
  return s;
}

// attentionForward(out, lse, q, k, v, B, NH, T, hs, causal, keyPadding | null, scale)
static void AttentionForward(const Napi::CallbackInfo& info) {
  Args args{info, "attentionForward"};
  const AttentionShape s = attentionShape(args, 5);
  const size_t size = (size_t)s.B * s.NH * s.T * s.hs, rows = (size_t)s.B * s.NH * s.T;
  float* out = args.f32(0, "out", size);
  float* lse = args.f32(1, "lse", rows);
  const float *q = args.f32(2, "q", size), *k = args.f32(3, "k", size), *v = args.f32(4, "v", size);
  if (size == 0) return;
  attentionForward(s, q, k, v, out, lse);
}

// attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, B, NH, T, hs, causal, keyPadding | null, scale)
static void AttentionBackward(const Napi::CallbackInfo& info) {
  Args args{info, "attentionBackward"};
  const AttentionShape s = attentionShape(args, 9);
  const size_t size = (size_t)s.B * s.NH * s.T * s.hs, rows = (size_t)s.B * s.NH * s.T;
  float *dq = args.f32(0, "dq", size), *dk = args.f32(1, "dk", size), *dv = args.f32(2, "dv", size);
  const float *dout = args.f32(3, "dout", size), *q = args.f32(4, "q", size), *k = args.f32(5, "k", size), *v = args.f32(6, "v", size);
  const float *out = args.f32(7, "out", size), *lse = args.f32(8, "lse", rows);
  if (size == 0) return;
  attentionBackward(s, q, k, v, out, dout, lse, dq, dk, dv);
}

// ---- GELU and bias + GELU ---------------------------------------------------------------------

// geluForward(y, x, bias | null, N, C): y = gelu_tanh(x + bias) over N rows of C.
static void GeluForward(const Napi::CallbackInfo& info) {
  Args args{info, "geluForward"};
  const long N = args.count(3, "N"), C = args.count(4, "C");
  float* y = args.f32(0, "y", N * C);
  const float* x = args.f32(1, "x", N * C);
  const float* bias = args.f32(2, "bias", C, true);
  if (N * C == 0) return;
  const KernelTable& kt = kernelTable();
  // Plain GELU splits anywhere: one long row of N·C.
  const long rows = bias == nullptr ? 1 : N, width = bias == nullptr ? N * C : C;
  if (bias == nullptr) {
    const long n = N * C;
    ThreadPool& p = kernelPool();
    const int tasks = (p.threads() > 1 && n >= PARALLEL_MIN_ELEMENTS) ? maxRowTasks() : 1;
    parallelFor(p, tasks, [&](int t, int) {
      const long i0 = n * t / tasks, i1 = n * (t + 1) / tasks;
      kt.geluForward(i1 - i0, x + i0, nullptr, i1 - i0, y + i0);
    });
    return;
  }
  splitRows(rows, width, [&](long r0, long r1, int) { kt.geluForward((r1 - r0) * C, x + r0 * C, bias, C, y + r0 * C); });
}

// geluBackward(dx | null, dbias (Float64Array) | null, g, x, bias | null, N, C): dx = g·gelu'(x + bias)
// written, dbias += Σ_rows dx.
static void GeluBackward(const Napi::CallbackInfo& info) {
  Args args{info, "geluBackward"};
  const long N = args.count(5, "N"), C = args.count(6, "C");
  float* dx = args.f32(0, "dx", N * C, true);
  double* dbias = args.f64(1, "dbias", C, true);
  const float* g = args.f32(2, "g", N * C);
  const float* x = args.f32(3, "x", N * C);
  const float* bias = args.f32(4, "bias", C, true);
  if (N * C == 0 || (dx == nullptr && dbias == nullptr)) return;
  const KernelTable& kt = kernelTable();
  if (bias == nullptr) {
    if (dx == nullptr) return;
    const long n = N * C;
    ThreadPool& p = kernelPool();
    const int tasks = (p.threads() > 1 && n >= PARALLEL_MIN_ELEMENTS) ? maxRowTasks() : 1;
    parallelFor(p, tasks, [&](int t, int) {
      const long i0 = n * t / tasks, i1 = n * (t + 1) / tasks;
      kt.geluBackward(i1 - i0, x + i0, nullptr, i1 - i0, g + i0, dx + i0, nullptr);
    });
    return;
  }
  ThreadPool& p = kernelPool();
  const int maxTasks = maxRowTasks();
  Partials partials(maxTasks, C, dbias != nullptr);
  const int tasks = splitRows(N, C, [&](long r0, long r1, int t) {
    kt.geluBackward((r1 - r0) * C, x + r0 * C, bias, C, g + r0 * C, dx == nullptr ? nullptr : dx + r0 * C, partials.of(t));
  });
  partials.addInto(dbias, tasks);
}

// ---- norms ------------------------------------------------------------------------------------

// layerNormForward(out, mean, rstd, inp, weight | null, bias | null, N, C, eps)
static void LayerNormForward(const Napi::CallbackInfo& info) {
  Args args{info, "layerNormForward"};
  const long N = args.count(6, "N"), C = args.count(7, "C");
  float* out = args.f32(0, "out", N * C);
  double *mean = args.f64(1, "mean", N), *rstd = args.f64(2, "rstd", N);
  const float* inp = args.f32(3, "inp", N * C);
  const float *w = args.f32(4, "weight", C, true), *b = args.f32(5, "bias", C, true);
  const float eps = (float)args.number(8);
  if (N == 0 || C == 0) return;
  const KernelTable& kt = kernelTable();
  splitRows(N, C, [&](long r0, long r1, int) { kt.layerNormForward(r1 - r0, C, inp + r0 * C, w, b, out + r0 * C, mean + r0, rstd + r0, eps); });
}

// layerNormBackward(dinp | null, dweight | null, dbias | null, dout, inp, weight | null, mean, rstd, N, C)
static void LayerNormBackward(const Napi::CallbackInfo& info) {
  Args args{info, "layerNormBackward"};
  const long N = args.count(8, "N"), C = args.count(9, "C");
  float* dinp = args.f32(0, "dinp", N * C, true);
  double *dweight = args.f64(1, "dweight", C, true), *dbias = args.f64(2, "dbias", C, true);
  const float *dout = args.f32(3, "dout", N * C), *inp = args.f32(4, "inp", N * C), *w = args.f32(5, "weight", C, true);
  const double *mean = args.f64(6, "mean", N), *rstd = args.f64(7, "rstd", N);
  if (N == 0 || C == 0) return;
  const KernelTable& kt = kernelTable();
  const int maxTasks = maxRowTasks();
  Partials dw(maxTasks, C, dweight != nullptr), db(maxTasks, C, dbias != nullptr);
  const int tasks = splitRows(N, C, [&](long r0, long r1, int t) {
    kt.layerNormBackward(r1 - r0, C, dout + r0 * C, inp + r0 * C, w, mean + r0, rstd + r0, dinp == nullptr ? nullptr : dinp + r0 * C, dw.of(t), db.of(t));
  });
  dw.addInto(dweight, tasks);
  db.addInto(dbias, tasks);
}

// rmsNormForward(out, rrms, inp, weight | null, N, C, eps)
static void RmsNormForward(const Napi::CallbackInfo& info) {
  Args args{info, "rmsNormForward"};
  const long N = args.count(4, "N"), C = args.count(5, "C");
  float* out = args.f32(0, "out", N * C);
  double* rrms = args.f64(1, "rrms", N);
  const float *inp = args.f32(2, "inp", N * C), *w = args.f32(3, "weight", C, true);
  const float eps = (float)args.number(6);
  if (N == 0 || C == 0) return;
  const KernelTable& kt = kernelTable();
  splitRows(N, C, [&](long r0, long r1, int) { kt.rmsNormForward(r1 - r0, C, inp + r0 * C, w, out + r0 * C, rrms + r0, eps); });
}

// rmsNormBackward(dinp | null, dweight | null, dout, inp, weight | null, rrms, N, C)
static void RmsNormBackward(const Napi::CallbackInfo& info) {
  Args args{info, "rmsNormBackward"};
  const long N = args.count(6, "N"), C = args.count(7, "C");
  float* dinp = args.f32(0, "dinp", N * C, true);
  double* dweight = args.f64(1, "dweight", C, true);
  const float *dout = args.f32(2, "dout", N * C), *inp = args.f32(3, "inp", N * C), *w = args.f32(4, "weight", C, true);
  const double* rrms = args.f64(5, "rrms", N);
  if (N == 0 || C == 0) return;
  const KernelTable& kt = kernelTable();
  const int maxTasks = maxRowTasks();
  Partials dw(maxTasks, C, dweight != nullptr);
  const int tasks = splitRows(N, C, [&](long r0, long r1, int t) {
    kt.rmsNormBackward(r1 - r0, C, dout + r0 * C, inp + r0 * C, w, rrms + r0, dinp == nullptr ? nullptr : dinp + r0 * C, dw.of(t));
  });
  dw.addInto(dweight, tasks);
}

// ---- cross-entropy ----------------------------------------------------------------------------

static void checkTargets(const Args& args, const int32_t* targets, long N, long C, int ignoreIndex) {
  // The kernel indexes the row by its target: one out of range would read past the row.
  for (long row = 0; row < N; row++) {
    const int t = targets[row];
    if (t != ignoreIndex && !(t >= 0 && t < C)) args.fail("target " + std::to_string(t) + " at row " + std::to_string(row) + " is out of range for " + std::to_string(C) + " classes");
  }
}

// crossEntropyForward(losses, logNormalizers (Float64Array), logits, targets, N, C, ignoreIndex, smoothing)
static void CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args args{info, "crossEntropyForward"};
  const long N = args.count(4, "N"), C = args.count(5, "C");
  float* losses = args.f32(0, "losses", N);
  double* lse = args.f64(1, "logNormalizers", N);
  const float* logits = args.f32(2, "logits", N * C);
  const int32_t* targets = args.i32(3, "targets", N);
  const int ignoreIndex = (int)args.number(6);
  const float smoothing = (float)args.number(7);
  checkTargets(args, targets, N, C, ignoreIndex);
  if (N == 0) return;
  const KernelTable& kt = kernelTable();
  splitRows(N, C, [&](long r0, long r1, int) { kt.crossEntropyForward(r1 - r0, C, logits + r0 * C, targets + r0, losses + r0, lse + r0, ignoreIndex, smoothing); });
}

// crossEntropyBackward(dlogits, logits, logNormalizers, targets, rowScales (Float64Array), N, C, ignoreIndex, smoothing)
static void CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args args{info, "crossEntropyBackward"};
  const long N = args.count(5, "N"), C = args.count(6, "C");
  float* dlogits = args.f32(0, "dlogits", N * C);
  const float* logits = args.f32(1, "logits", N * C);
  const double* lse = args.f64(2, "logNormalizers", N);
  const int32_t* targets = args.i32(3, "targets", N);
  const double* scales = args.f64(4, "rowScales", N);
  const int ignoreIndex = (int)args.number(7);
  const float smoothing = (float)args.number(8);
  checkTargets(args, targets, N, C, ignoreIndex);
  if (N == 0 || C == 0) return;
  const KernelTable& kt = kernelTable();
  splitRows(N, C, [&](long r0, long r1, int) {
    kt.crossEntropyBackward(r1 - r0, C, logits + r0 * C, lse + r0, targets + r0, scales + r0, dlogits + r0 * C, ignoreIndex, smoothing);
  });
}

// ---- AdamW, embedding -------------------------------------------------------------------------

// adamUpdate(param, grad, expAvg, expAvgSq, beta1, beta2, l2Penalty, keep, stepSize, biasCorrection2Sqrt, eps)
static void AdamUpdate(const Napi::CallbackInfo& info) {
  Args args{info, "adamUpdate"};
  const size_t n = args.length(0);
  float* param = args.f32(0, "param", n);
  const float* grad = args.f32(1, "grad", n);
  float *m = args.f32(2, "expAvg", n), *v = args.f32(3, "expAvgSq", n);
  const double beta1 = args.number(4), beta2 = args.number(5);
  const AdamScalars s{(float)beta1, (float)beta2, (float)(1 - beta1), (float)(1 - beta2), (float)args.number(6), (float)args.number(7),
                      (float)args.number(8), (float)args.number(9), (float)args.number(10)};
  const KernelTable& kt = kernelTable();
  splitRows((long)n, 1, [&](long i0, long i1, int) { kt.adamUpdate(i1 - i0, param + i0, grad + i0, m + i0, v + i0, &s); });
}

static long checkIds(const Args& args, const int32_t* ids, long N, size_t tableLength, long C) {
  const long V = C == 0 ? 0 : (long)(tableLength / C);
  for (long i = 0; i < N; i++) {
    if (!(ids[i] >= 0 && ids[i] < V)) args.fail("id " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is out of range for " + std::to_string(V) + " rows");
  }
  return V;
}

// embeddingScatterAdd(dweight (V·C), g (N·C), ids (N), C): dweight[ids[i], :] += g[i, :], ids in order.
static void EmbeddingScatterAdd(const Napi::CallbackInfo& info) {
  Args args{info, "embeddingScatterAdd"};
  const long C = args.count(3, "C");
  const long N = (long)args.length(2);
  float* dweight = args.f32(0, "dweight", 0);
  const int32_t* ids = args.i32(2, "ids", N);
  const float* g = args.f32(1, "g", N * C);
  checkIds(args, ids, N, args.length(0), C);
  // Split by columns: no two threads touch one element, and each element sums in id order (bit
  // for bit the reference's result).
  splitRows(C, N, [&](long c0, long c1, int) {
    for (long i = 0; i < N; i++) {
      float* to = dweight + (long)ids[i] * C;
      const float* from = g + i * C;
#pragma omp simd
      for (long c = c0; c < c1; c++) to[c] += from[c];
    }
  });
}

// embeddingGather(out (N·C), weight (V·C), ids (N), C): out[i, :] = weight[ids[i], :].
static void EmbeddingGather(const Napi::CallbackInfo& info) {
  Args args{info, "embeddingGather"};
  const long C = args.count(3, "C");
  const long N = (long)args.length(2);
  float* out = args.f32(0, "out", N * C);
  const float* weight = args.f32(1, "weight", 0);
  const int32_t* ids = args.i32(2, "ids", N);
  checkIds(args, ids, N, args.length(1), C);
  for (long i = 0; i < N; i++) memcpy(out + i * C, weight + (long)ids[i] * C, C * sizeof(float));
}

// elementwise(op, out, a, b | null, layout): op 0 copy, 1 add, 2 sub, 3 mul, 4 div; layout a
// Float64Array [rank, dims…, outOffset, outStrides…, aOffset, aStrides…, bOffset, bStrides…].
static void Elementwise(const Napi::CallbackInfo& info) {
  Args args{info, "elementwise"};
  const long op = args.count(0, "op");
  if (op > OP_DIV) args.fail("op must be 0..4");
  const size_t layoutLength = args.length(4);
  const double* layout = args.f64(4, "layout", 1);
  const long rank = (long)layout[0];
  if (!(rank >= 1 && rank <= 8) || layoutLength < (size_t)(1 + 4 * rank + 3)) args.fail("layout must hold a rank 1..8 and its dims, offsets and strides");
  StridedOp s;
  s.op = (int)op;
  s.rank = (int)rank;
  long size = 1;
  for (long axis = 0; axis < rank; axis++) {
    s.dims[axis] = (long)layout[1 + axis];
    if (s.dims[axis] < 0) args.fail("dims must be non-negative");
    size *= s.dims[axis];
  }
  // Each operand: offset, then strides; the last element it touches must lie in its array.
  auto operand = [&](int which, const char* name, size_t arrayIndex, long* strides, bool optional) -> float* {
    const double* base = layout + 1 + rank + which * (rank + 1);
    long offset = (long)base[0], last = offset;
    for (long axis = 0; axis < rank; axis++) {
      strides[axis] = (long)base[1 + axis];
      if (strides[axis] < 0) args.fail(std::string(name) + " strides must be non-negative");
      if (size > 0) last += (s.dims[axis] - 1) * strides[axis];
    }
    float* data = args.f32(arrayIndex, name, size == 0 ? 0 : (size_t)last + 1, optional);
    return data == nullptr ? nullptr : data + offset;
  };
  s.out = operand(0, "out", 1, s.outStrides, false);
  s.a = operand(1, "a", 2, s.aStrides, false);
  float* b = operand(2, "b", 3, s.bStrides, op == OP_COPY);
  if (b == nullptr) {
    s.b = s.a;
    for (long axis = 0; axis < rank; axis++) s.bStrides[axis] = 0;
  } else {
    s.b = b;
  }
  if (size == 0) return;
  stridedElementwise(s);
}

// columnSums(out (cols), a, offset, rows, cols, scale): out[c] = scale·Σ_r a[offset + r·cols + c],
// in float64 in row order (the reference's bits); columns split across threads.
static void ColumnSums(const Napi::CallbackInfo& info) {
  Args args{info, "columnSums"};
  const long offset = args.count(2, "offset"), rows = args.count(3, "rows"), cols = args.count(4, "cols");
  float* out = args.f32(0, "out", cols);
  const float* a = args.f32(1, "a", rows * cols == 0 ? 0 : offset + rows * cols);
  const double scale = args.number(5);
  if (cols == 0) return;
  const KernelTable& kt = kernelTable();
  ThreadPool& p = kernelPool();
  const int tasks = (p.threads() > 1 && rows * cols >= PARALLEL_MIN_ELEMENTS && cols >= 64) ? p.threads() : 1;
  std::vector<double> totals(cols);
  parallelFor(p, tasks, [&](int t, int) {
    // Column blocks on 16-float boundaries, so no two threads share a cache line of out.
    const long c0 = std::min(cols, (cols * t / tasks) & ~15L), c1 = t + 1 == tasks ? cols : std::min(cols, (cols * (t + 1) / tasks) & ~15L);
    if (c1 > c0) kt.columnSums(rows, c1 - c0, a + offset + c0, cols, totals.data() + c0, out + c0, scale);
  });
}

// reference: axisSums in src/kernels/reference/reduce.ts. Each outer block is a columnSums over
// (C, inner); many blocks split across threads by block, few wide ones by 16-float column blocks.
static void AxisSums(const Napi::CallbackInfo& info) {
  Args args{info, "axisSums"};
  const long offset = args.count(2, "offset"), outer = args.count(3, "outer"), C = args.count(4, "C"), inner = args.count(5, "inner");
  float* out = args.f32(0, "out", outer * inner);
  const long size = outer * C * inner;
  const float* a = args.f32(1, "a", size == 0 ? 0 : offset + size);
  const double scale = args.number(6);
  if (outer == 0 || inner == 0) return;
  const KernelTable& kt = kernelTable();
  ThreadPool& p = kernelPool();
  const int threads = (p.threads() > 1 && size >= PARALLEL_MIN_ELEMENTS) ? p.threads() : 1;
  const float* base = a + offset;
  if (outer >= threads) {
    std::vector<double> totals(threads * inner);
    parallelFor(p, threads, [&](int t, int) {
      for (long o = outer * t / threads; o < outer * (t + 1) / threads; o++) {
        kt.columnSums(C, inner, base + o * C * inner, inner, totals.data() + t * inner, out + o * inner, scale);
      }
    });
    return;
  }
  const int tasks = inner >= 64 ? threads : 1;
  std::vector<double> totals(inner);
  parallelFor(p, tasks, [&](int t, int) {
    const long c0 = std::min(inner, (inner * t / tasks) & ~15L), c1 = t + 1 == tasks ? inner : std::min(inner, (inner * (t + 1) / tasks) & ~15L);
    if (c1 <= c0) return;
    for (long o = 0; o < outer; o++) kt.columnSums(C, c1 - c0, base + o * C * inner + c0, inner, totals.data() + c0, out + o * inner + c0, scale);
  });
}

// reference: axisMoments in src/kernels/reference/reduce.ts (two passes in float64, c order).
static void momentsOfBlock(const float* a, long C, long inner, long i0, long i1, double* means, double* squares) {
  for (long i = i0; i < i1; i++) means[i] = 0, squares[i] = 0;
  for (long c = 0; c < C; c++) {
    const float* row = a + c * inner;
#pragma omp simd
    for (long i = i0; i < i1; i++) means[i] += row[i];
  }
  for (long i = i0; i < i1; i++) means[i] /= (double)C;
  for (long c = 0; c < C; c++) {
    const float* row = a + c * inner;
#pragma omp simd
    for (long i = i0; i < i1; i++) {
      const double d = row[i] - means[i];
      squares[i] += d * d;
    }
  }
}

static void AxisMoments(const Napi::CallbackInfo& info) {
  Args args{info, "axisMoments"};
  const long offset = args.count(3, "offset"), outer = args.count(4, "outer"), C = args.count(5, "C"), inner = args.count(6, "inner");
  double *means = args.f64(0, "means", outer * inner), *squares = args.f64(1, "squares", outer * inner);
  const long size = outer * C * inner;
  const float* a = args.f32(2, "a", size == 0 ? 0 : offset + size);
  if (outer == 0 || inner == 0) return;
  ThreadPool& p = kernelPool();
  const int threads = (p.threads() > 1 && size >= PARALLEL_MIN_ELEMENTS) ? p.threads() : 1;
  const float* base = a + offset;
  if (outer >= threads) {
    parallelFor(p, threads, [&](int t, int) {
      for (long o = outer * t / threads; o < outer * (t + 1) / threads; o++) {
        momentsOfBlock(base + o * C * inner, C, inner, 0, inner, means + o * inner, squares + o * inner);
      }
    });
    return;
  }
  const int tasks = inner >= 64 ? threads : 1;
  parallelFor(p, tasks, [&](int t, int) {
    const long c0 = std::min(inner, (inner * t / tasks) & ~15L), c1 = t + 1 == tasks ? inner : std::min(inner, (inner * (t + 1) / tasks) & ~15L);
    for (long o = 0; o < outer; o++) momentsOfBlock(base + o * C * inner, C, inner, c0, c1, means + o * inner, squares + o * inner);
  });
}

// ---- unary ops and softmax ------------------------------------------------------------------

/** f(i0, i1) over `tasks` contiguous ranges of n values, split when n ≥ minElements. */
template <typename F>
static void splitRange(long n, long minElements, F&& f) {
  ThreadPool& p = kernelPool();
  const int tasks = (p.threads() > 1 && n >= minElements) ? p.threads() : 1;
  parallelFor(p, tasks, [&](int t, int) { f(n * t / tasks, n * (t + 1) / tasks); });
}

// Unary ops cost a libm call per value (exp, log, tanh, erfc), ~4× a GELU row's vector lane: they
// split across threads at a quarter of the row kernels' threshold.
static const long UNARY_PARALLEL_MIN = PARALLEL_MIN_ELEMENTS / 4;

static int unaryCode(const Args& args, size_t i) {
  const long op = args.count(i, "op");
  if (op > 11) args.fail("op code " + std::to_string(op) + " is not a unary op (0..11)");
  return (int)op;
}

// unaryForward(op, y, x, n, slope): y = op(x) over n values.
static void UnaryForward(const Napi::CallbackInfo& info) {
  Args args{info, "unaryForward"};
  const int op = unaryCode(args, 0);
  const long n = args.count(3, "n");
  float* y = args.f32(1, "y", n);
  const float* x = args.f32(2, "x", n);
  const float slope = (float)args.number(4);
  const KernelTable& kt = kernelTable();
  splitRange(n, UNARY_PARALLEL_MIN, [&](long i0, long i1) { kt.unaryForward(op, i1 - i0, x + i0, y + i0, slope); });
}

// unaryBackward(op, dx, g, x, y, n, slope): dx = g·op'(x), y the forward's output.
static void UnaryBackward(const Napi::CallbackInfo& info) {
  Args args{info, "unaryBackward"};
  const int op = unaryCode(args, 0);
  const long n = args.count(5, "n");
  float* dx = args.f32(1, "dx", n);
  const float* g = args.f32(2, "g", n);
  const float* x = args.f32(3, "x", n);
  const float* y = args.f32(4, "y", n);
  const float slope = (float)args.number(6);
  const KernelTable& kt = kernelTable();
  splitRange(n, UNARY_PARALLEL_MIN, [&](long i0, long i1) { kt.unaryBackward(op, i1 - i0, g + i0, x + i0, y + i0, dx + i0, slope); });
}

// softmaxForward(logarithm, out, inp, rows, C): (log-)softmax over each contiguous row of C.
static void SoftmaxForward(const Napi::CallbackInfo& info) {
  Args args{info, "softmaxForward"};
  const int logarithm = args.flag(0) ? 1 : 0;
  const long rows = args.count(3, "rows"), C = args.count(4, "C");
  float* out = args.f32(1, "out", rows * C);
  const float* inp = args.f32(2, "inp", rows * C);
  if (rows * C == 0) return;
  const KernelTable& kt = kernelTable();
  splitRows(rows, C, [&](long r0, long r1, int) { kt.softmaxRows(r1 - r0, C, inp + r0 * C, out + r0 * C, logarithm); });
}

// softmaxBackward(logarithm, dinp, dout, out, rows, C): out is the forward's output.
static void SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args args{info, "softmaxBackward"};
  const int logarithm = args.flag(0) ? 1 : 0;
  const long rows = args.count(4, "rows"), C = args.count(5, "C");
  float* dinp = args.f32(1, "dinp", rows * C);
  const float* dout = args.f32(2, "dout", rows * C);
  const float* out = args.f32(3, "out", rows * C);
  if (rows * C == 0) return;
  const KernelTable& kt = kernelTable();
  splitRows(rows, C, [&](long r0, long r1, int) { kt.softmaxRowsBackward(r1 - r0, C, dout + r0 * C, out + r0 * C, dinp + r0 * C, logarithm); });
}

// ---- last-axis reductions ---------------------------------------------------------------------

// rowSums(out (rows), a, offset, rows, C, scale): out[r] = scale·Σ_c a[offset + r·C + c].
static void RowSums(const Napi::CallbackInfo& info) {
  Args args{info, "rowSums"};
  const long offset = args.count(2, "offset"), rows = args.count(3, "rows"), C = args.count(4, "C");
  float* out = args.f32(0, "out", rows);
  const float* a = args.f32(1, "a", rows * C == 0 ? 0 : offset + rows * C);
  const double scale = args.number(5);
  if (rows == 0) return;
  const KernelTable& kt = kernelTable();
  splitRows(rows, C, [&](long r0, long r1, int) { kt.rowSums(r1 - r0, C, a + offset + r0 * C, out + r0, scale); });
}

// rowMax(values (rows), indices (rows), a, offset, rows, C): C ≥ 1.
static void RowMax(const Napi::CallbackInfo& info) {
  Args args{info, "rowMax"};
  const long offset = args.count(3, "offset"), rows = args.count(4, "rows"), C = args.count(5, "C");
  if (C == 0 && rows > 0) args.fail("C must be ≥ 1 (a max over an empty axis)");
  float* values = args.f32(0, "values", rows);
  float* indices = args.f32(1, "indices", rows);
  const float* a = args.f32(2, "a", rows == 0 ? 0 : offset + rows * C);
  if (rows == 0) return;
  const KernelTable& kt = kernelTable();
  splitRows(rows, C, [&](long r0, long r1, int) { kt.rowMax(r1 - r0, C, a + offset + r0 * C, values + r0, indices + r0); });
}

// sumOfSquares(a, offset, n) → Σ a[offset + i]² in double; per-thread partials added in task order.
static Napi::Value SumOfSquares(const Napi::CallbackInfo& info) {
  Args args{info, "sumOfSquares"};
  const long offset = args.count(1, "offset"), n = args.count(2, "n");
  const float* a = args.f32(0, "a", n == 0 ? 0 : offset + n);
  const KernelTable& kt = kernelTable();
  ThreadPool& p = kernelPool();
  const int tasks = (p.threads() > 1 && n >= PARALLEL_MIN_ELEMENTS) ? p.threads() : 1;
  std::vector<double> partials(tasks, 0.0);
  parallelFor(p, tasks, [&](int t, int) {
    const long i0 = n * t / tasks, i1 = n * (t + 1) / tasks;
    partials[t] = kt.sumOfSquares(i1 - i0, a + offset + i0);
  });
  double total = 0;
  for (double partial : partials) total += partial;
  return Napi::Number::New(info.Env(), total);
}

// exp(y, x): the kernels' vector exp, for the tests.
static void Exp(const Napi::CallbackInfo& info) {
  Args args{info, "exp"};
  const size_t n = args.length(1);
  float* y = args.f32(0, "y", n);
  const float* x = args.f32(1, "x", n);
  kernelTable().expRow((long)n, x, y);
}

// ---- control ----------------------------------------------------------------------------------

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object result = Napi::Object::New(info.Env());
  const KernelTable& kt = kernelTable();
  result.Set("simd", kt.name);
  result.Set("threads", kernelPool().threads());
  result.Set("microTile", std::to_string(kt.MR) + "x" + std::to_string(kt.NR));
  result.Set("workerTasks", (double)kernelPool().workerTasks());
  return result;
}

static void SetThreads(const Napi::CallbackInfo& info) {
  Args args{info, "setThreads"};
  const long threads = args.count(0, "threads");
  if (threads < 1) args.fail("threads must be ≥ 1");
  if (pool && pool->threads() == threads) return;
  pool.reset(new ThreadPool((int)threads));
}

static Napi::Value SelectIsa(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), selectIsa(info[0].As<Napi::String>().Utf8Value().c_str()));
}

void registerQuantKernels(Napi::Env env, Napi::Object exports);  // quant.cc
void registerMmap(Napi::Env env, Napi::Object exports);  // mmap.cc
void registerGemm16(Napi::Env env, Napi::Object exports);  // gemm16.cc
void registerRope(Napi::Env env, Napi::Object exports);  // rope.cc

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  const struct { const char* name; void (*fn)(const Napi::CallbackInfo&); } kernels[] = {
      {"sgemm", Sgemm}, {"attentionForward", AttentionForward}, {"attentionBackward", AttentionBackward},
      {"geluForward", GeluForward}, {"geluBackward", GeluBackward},
      {"layerNormForward", LayerNormForward}, {"layerNormBackward", LayerNormBackward},
      {"rmsNormForward", RmsNormForward}, {"rmsNormBackward", RmsNormBackward},
      {"crossEntropyForward", CrossEntropyForward}, {"crossEntropyBackward", CrossEntropyBackward},
      {"adamUpdate", AdamUpdate}, {"embeddingScatterAdd", EmbeddingScatterAdd}, {"embeddingGather", EmbeddingGather},
      {"elementwise", Elementwise}, {"columnSums", ColumnSums}, {"exp", Exp}, {"setThreads", SetThreads},
      {"unaryForward", UnaryForward}, {"unaryBackward", UnaryBackward}, {"softmaxForward", SoftmaxForward}, {"softmaxBackward", SoftmaxBackward},
      {"rowSums", RowSums}, {"rowMax", RowMax}, {"axisSums", AxisSums}, {"axisMoments", AxisMoments},
  };
  for (const auto& kernel : kernels) exports.Set(kernel.name, Napi::Function::New(env, kernel.fn, kernel.name));
  exports.Set("sumOfSquares", Napi::Function::New(env, SumOfSquares, "sumOfSquares"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("selectIsa", Napi::Function::New(env, SelectIsa, "selectIsa"));
  registerQuantKernels(env, exports);
  registerMmap(env, exports);
  registerGemm16(env, exports);
  registerRope(env, exports);
  return exports;
}

NODE_API_MODULE(qkv_native, Init)
