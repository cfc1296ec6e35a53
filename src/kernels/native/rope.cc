// Rotary position embedding (RoPE), Hugging Face Llama's rotate_half convention, fused into one
// pass: element i of a head is paired with element i + hs/2 and turned by the angle of its
// position and pair. The backward is the same turn by −angle (a rotation's transpose is its
// inverse). The TypeScript reference is src/kernels/reference/rope.ts.
//
//   out[i]        = x[i] · cos − x[i + hs/2] · sin
//   out[i + hs/2] = x[i + hs/2] · cos + x[i] · sin        (inverse: sin → −sin)
//
// Legend: B = batch, NH = heads, T = time, hs = head size. x (B, NH, T, hs) through strides (the
// last axis dense: a head split out of (B, T, NH, hs) is read in place), out (B, NH, T, hs)
// contiguous, cos and sin (rows, hs/2) with row = position.
//
// One loop body, compiled three times (AVX-512F, AVX2, baseline) by the compiler's vectoriser;
// the copy runs on the ISA dispatch.cc chose (so QKV_SIMD=portable covers the baseline one).
// Each product is its own statement and contraction is off for this file (GCC 12 fuses a·b − c·d
// into an FMA under AVX-512 otherwise), so every product and sum rounds to float32 once: the same
// bits as the elementwise x·cos + rotate_half(x)·sin it replaces.
#include <napi.h>
#include <string.h>

#include <algorithm>
#include <mutex>
#include <string>

#include "isa.h"
#include "pool.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

ThreadPool& kernelPool();          // addon.cc
const KernelTable& kernelTable();  // dispatch.cc

namespace {

struct RopeShape {
  long B, NH, T, hs;
  long offset, strideB, strideH, strideT;
  long position;
  bool inverse;
};

/** Rows [r0, r1) of the (B·NH·T) output rows. */
inline __attribute__((always_inline)) void rotateRowsBody(const RopeShape& s, const float* x, const float* cosTable, const float* sinTable, float* out,
                                                          long r0, long r1) {
  const long half = s.hs / 2;
  for (long row = r0; row < r1; row++) {
    const long t = row % s.T, h = (row / s.T) % s.NH, b = row / (s.T * s.NH);
    const float* __restrict in = x + s.offset + b * s.strideB + h * s.strideH + t * s.strideT;
    const float* __restrict c = cosTable + (s.position + t) * half;
    const float* __restrict sn = sinTable + (s.position + t) * half;
    float* __restrict o = out + row * s.hs;
    if (!s.inverse) {
#pragma omp simd
      for (long i = 0; i < half; i++) {
        const float first = in[i], second = in[half + i];
        const float firstCos = first * c[i], secondSin = second * sn[i];
        const float secondCos = second * c[i], firstSin = first * sn[i];
        o[i] = firstCos - secondSin;
        o[half + i] = secondCos + firstSin;
      }
    } else {
#pragma omp simd
      for (long i = 0; i < half; i++) {
        const float first = in[i], second = in[half + i];
        const float firstCos = first * c[i], secondSin = second * sn[i];
        const float secondCos = second * c[i], firstSin = first * sn[i];
        o[i] = firstCos + secondSin;
        o[half + i] = secondCos - firstSin;
      }
    }
  }
}

using RotateRows = void (*)(const RopeShape&, const float*, const float*, const float*, float*, long, long);

void rotateRowsPortable(const RopeShape& s, const float* x, const float* c, const float* sn, float* out, long r0, long r1) {
  rotateRowsBody(s, x, c, sn, out, r0, r1);
}

#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
__attribute__((target("avx2"))) void rotateRowsAvx2(const RopeShape& s, const float* x, const float* c, const float* sn, float* out, long r0, long r1) {
  rotateRowsBody(s, x, c, sn, out, r0, r1);
}
__attribute__((target("avx512f"))) void rotateRowsAvx512(const RopeShape& s, const float* x, const float* c, const float* sn, float* out, long r0, long r1) {
  rotateRowsBody(s, x, c, sn, out, r0, r1);
}
#endif

RotateRows chosenRotateRows() {
#if (defined(__x86_64__) || defined(_M_X64)) && defined(__GNUC__)
  const char* isa = kernelTable().name;
  if (strcmp(isa, "avx512") == 0) return rotateRowsAvx512;
  if (strcmp(isa, "avx2") == 0) return rotateRowsAvx2;
#endif
  return rotateRowsPortable;
}

// Below this many output elements one thread does it all (~10 µs of work: a wake-up costs more).
const long PARALLEL_MIN_ELEMENTS = 1 << 15;

thread_local const char* entryName = "rotaryEmbedding";

[[noreturn]] void fail(const Napi::CallbackInfo& info, const std::string& message) {
  throw Napi::RangeError::New(info.Env(), std::string(entryName) + " (native): " + message);
}

long countArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) fail(info, std::string(name) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 9007199254740991.0 && v == (double)(long)v)) fail(info, std::string(name) + " must be a non-negative integer, got " + std::to_string(v));
  return (long)v;
}

float* floatArg(const Napi::CallbackInfo& info, size_t i, const char* name, size_t need) {
  bool isTyped = false;
  napi_is_typedarray(info.Env(), info[i], &isTyped);
  if (!isTyped) fail(info, std::string(name) + " must be a Float32Array");
  napi_typedarray_type actual;
  size_t length;
  void* data;
  napi_get_typedarray_info(info.Env(), info[i], &actual, &length, &data, nullptr, nullptr);
  if (actual != napi_float32_array) fail(info, std::string(name) + " must be a Float32Array");
  if (length < need) fail(info, std::string(name) + " needs " + std::to_string(need) + " elements, found " + std::to_string(length));
  return static_cast<float*>(data);
}

// rotaryEmbedding(out, x, cos, sin, B, NH, T, hs, offset, strideB, strideH, strideT, position, inverse):
// the RotaryParams contract of src/kernels/types.ts.
void RotaryEmbeddingEntry(const Napi::CallbackInfo& info) {
  if (info.Length() < 14) fail(info, "expected (out, x, cos, sin, B, NH, T, hs, offset, strideB, strideH, strideT, position, inverse)");
  RopeShape s;
  s.B = countArg(info, 4, "B");
  s.NH = countArg(info, 5, "NH");
  s.T = countArg(info, 6, "T");
  s.hs = countArg(info, 7, "hs");
  s.offset = countArg(info, 8, "offset");
  s.strideB = countArg(info, 9, "strideB");
  s.strideH = countArg(info, 10, "strideH");
  s.strideT = countArg(info, 11, "strideT");
  s.position = countArg(info, 12, "position");
  s.inverse = info[13].ToBoolean().Value();
  if (s.hs % 2 != 0) fail(info, "hs must be even, got " + std::to_string(s.hs));
  const long rows = s.B * s.NH * s.T;
  const bool empty = rows == 0 || s.hs == 0;
  const size_t needX = empty ? 0 : s.offset + (s.B - 1) * s.strideB + (s.NH - 1) * s.strideH + (s.T - 1) * s.strideT + s.hs;
  const size_t needTable = empty ? 0 : (s.position + s.T) * (s.hs / 2);
  float* out = floatArg(info, 0, "out", empty ? 0 : rows * s.hs);
  const float* x = floatArg(info, 1, "x", needX);
  const float* cosTable = floatArg(info, 2, "cos", needTable);
  const float* sinTable = floatArg(info, 3, "sin", needTable);
  if (empty) return;
  const RotateRows rotateRows = chosenRotateRows();
  ThreadPool& pool = kernelPool();
  const int tasks = (pool.threads() > 1 && rows * s.hs >= PARALLEL_MIN_ELEMENTS) ? (int)std::min<long>(pool.threads(), rows) : 1;
  parallelFor(pool, tasks, [&](int t, int) { rotateRows(s, x, cosTable, sinTable, out, rows * t / tasks, rows * (t + 1) / tasks); });
}

}  // namespace

void registerRope(Napi::Env env, Napi::Object exports) {
  exports.Set("rotaryEmbedding", Napi::Function::New(env, RotaryEmbeddingEntry, "rotaryEmbedding"));
}
