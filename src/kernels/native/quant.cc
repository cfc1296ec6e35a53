// Quantised matmul / matvec kernels on ggml-layout packed blocks (Q8_0, Q4_0, group-128 4-bit),
// registered on the addon's exports by addon.cc. As ggml does, the activation rows are quantised
// to 8 bits per block of 32 once per call and every weight block is an int8·int8 dot on its packed
// codes: the weight matrix is never dequantised. ISA variants (quant-x86.h) are functions with
// target attributes, chosen at run time, so binding.gyp needs no per-ISA entry for them.
//
//   qmatmul(format, out, x, w, M, N, K)   out (M, N) = x (M, K) · Wᵀ, W (N, K) packed in `format`
//                                         (0 = q8_0, 1 = q4_0, 2 = q4_g128); zero copy
//   qgather(format, out, w, ids, N, K)    out (ids.length, K) = the rows ids of W (N, K), dequantised:
//                                         an embedding lookup on a packed tied head, no float table
//   quantInfo()                           { path: 'avx512vnni' | 'avxvnni' | 'avx2' | 'portable', supported }
//   quantSelectPath(name)                 forces one path (tests, benchmarks); 'auto' undoes it
//
// The path follows the float kernels' ISA (selectIsa / QKV_NATIVE_ISA): 'avx512' runs AVX-512 VNNI
// when the CPU has it, else (and under 'avx2') the 256-bit AVX-VNNI when the CPU has that, else
// AVX2; 'portable' scalar. quantSelectPath reaches the paths the ISA order hides (AVX2 on a CPU
// with AVX-VNNI), so the tests run each one this CPU has.
// Threads: output columns split across the addon's one pool (pool.h), the caller working too.
//
// Legend: M = activation rows, K = in_features (the quantised axis), N = out_features.
#include <napi.h>
#include <string.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "isa.h"
#include "pool.h"
#include "quant-blocks.h"
#include "quant-x86.h"

ThreadPool& kernelPool();            // addon.cc
const KernelTable& kernelTable();    // dispatch.cc

namespace {

enum QuantPath { PATH_PORTABLE, PATH_AVX2, PATH_AVXVNNI, PATH_VNNI512, PATH_COUNT };

const char* const PATH_NAMES[PATH_COUNT] = {"portable", "avx2", "avxvnni", "avx512vnni"};

const char* pathName(QuantPath path) { return PATH_NAMES[path]; }

/** Whether this CPU (and this build) can run `path`. */
bool pathSupported(QuantPath path) {
#if defined(__x86_64__) || defined(_M_X64)
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  switch (path) {
    case PATH_PORTABLE: return true;
    case PATH_AVX2: return avx2;
    case PATH_AVXVNNI:
#ifdef QKV_HAVE_AVXVNNI
      return avx2 && __builtin_cpu_supports("avxvnni");
#else
      return false;
#endif
    case PATH_VNNI512:
      return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512vnni");
    default: return false;
  }
#else
  return path == PATH_PORTABLE;
#endif
}

// A path forced by quantSelectPath (tests, benchmarks), or -1: follow the float kernels' ISA.
int forcedPath = -1;

/**
 * The float kernels' ISA decides (selectIsa / QKV_NATIVE_ISA): 'avx512' runs AVX-512 VNNI where the
 * CPU has it; 'avx2' (or 'avx512' without 512-bit VNNI) the 256-bit AVX-VNNI where the CPU has it,
 * else AVX2; 'portable' scalar.
 */
QuantPath chosenPath() {
  if (forcedPath >= 0) return (QuantPath)forcedPath;
  const char* isa = kernelTable().name;
  if (strcmp(isa, "avx512") == 0 && pathSupported(PATH_VNNI512)) return PATH_VNNI512;
  if (strcmp(isa, "portable") != 0 && pathSupported(PATH_AVXVNNI)) return PATH_AVXVNNI;
  if (strcmp(isa, "portable") != 0 && pathSupported(PATH_AVX2)) return PATH_AVX2;
  return PATH_PORTABLE;
}

/** One weight row (n) · one activation row (m), on `path`. */
float rowDot(QuantPath path, int format, const uint8_t* w, const QuantActivations& a, long m) {
  const long K = a.K;
  const int8_t* xq = a.codes + m * K;
  const float* xd = a.scales + m * (K / 32);
#if defined(__x86_64__) || defined(_M_X64)
  if (path == PATH_VNNI512) {
    if (format == QUANT_Q8_0) return dotQ8_0Vnni(w, xq, xd, K / 32);
    if (format == QUANT_Q4_0) return dotQ4_0Vnni(w, xq, xd, K / 32);
    return dotQ4G128Vnni(w, xq, xd, a.groupSums + m * (K / 128), K / 128);
  }
#ifdef QKV_HAVE_AVXVNNI
  if (path == PATH_AVXVNNI) {
    if (format == QUANT_Q8_0) return dotQ8_0AvxVnni(w, xq, xd, K / 32);
    if (format == QUANT_Q4_0) return dotQ4_0AvxVnni(w, xq, xd, K / 32);
    return dotQ4G128AvxVnni(w, xq, xd, a.groupSums + m * (K / 128), K / 128);
  }
#endif
  if (path == PATH_AVX2) {
    if (format == QUANT_Q8_0) return dotQ8_0Avx2(w, xq, xd, K / 32);
    if (format == QUANT_Q4_0) return dotQ4_0Avx2(w, xq, xd, K / 32);
    return dotQ4G128Avx2(w, xq, xd, a.groupSums + m * (K / 128), K / 128);
  }
#endif
  if (format == QUANT_Q8_0) return dotQ8_0Scalar(w, xq, xd, K / 32);
  if (format == QUANT_Q4_0) return dotQ4_0Scalar(w, xq, xd, K / 32);
  return dotQ4G128Scalar(w, xq, xd, a.groupSums + m * (K / 128), K / 128);
}

// Below this many multiply-adds a call stays on one thread (~10 µs: a wake-up costs more).
const double PARALLEL_MIN_MACS = 1 << 16;
// Columns per task at least: a task's weight rows are read once, for every activation row.
const long MIN_COLUMNS_PER_TASK = 8;

// The activation scratch of the calling thread (each JavaScript thread calls on its own).
thread_local std::vector<int8_t> codeScratch;
thread_local std::vector<float> scaleScratch, groupSumScratch;

#include "napi-args.h"

// qmatmul(format, out, x, w, M, N, K)
void Qmatmul(const Napi::CallbackInfo& info) {
  entryName = "qmatmul";
  if (info.Length() < 7) fail(info, "expected (format, out, x, w, M, N, K)");
  const long format = countArg(info, 0, "format");
  if (format > QUANT_Q4_G128) fail(info, "format must be 0 (q8_0), 1 (q4_0) or 2 (q4_g128), got " + std::to_string(format));
  const QuantFormatInfo& fi = QUANT_INFO[format];
  const long M = countArg(info, 4, "M"), N = countArg(info, 5, "N"), K = countArg(info, 6, "K");
  if (K == 0 || K % fi.blockSize != 0) fail(info, std::string(fi.name) + " needs K a positive multiple of " + std::to_string(fi.blockSize) + ", got K = " + std::to_string(K));
  if ((double)M * (double)K > 2147483647.0 || (double)N * (double)K > 2147483647.0 * 8) fail(info, "matrix too large");
  const long rowBytes = K / fi.blockSize * fi.blockBytes;
  float* out = static_cast<float*>(arrayArg(info, 1, "out", napi_float32_array, "Float32Array", (size_t)(M * N)));
  const float* x = static_cast<const float*>(arrayArg(info, 2, "x", napi_float32_array, "Float32Array", (size_t)(M * K)));
  const uint8_t* w = static_cast<const uint8_t*>(arrayArg(info, 3, "w", napi_uint8_array, "Uint8Array", (size_t)(N * rowBytes)));
  if (M == 0 || N == 0) return;

  codeScratch.resize(M * K);
  scaleScratch.resize(M * (K / 32));
  const bool grouped = format == QUANT_Q4_G128;
  if (grouped) groupSumScratch.resize(M * (K / 128));
  for (long m = 0; m < M; m++) {
    quantizeActivationRow(x + m * K, K, codeScratch.data() + m * K, scaleScratch.data() + m * (K / 32), grouped ? groupSumScratch.data() + m * (K / 128) : nullptr);
  }
  const QuantActivations acts{codeScratch.data(), scaleScratch.data(), grouped ? groupSumScratch.data() : nullptr, K};
  const QuantPath path = chosenPath();

  auto columns = [&](long n0, long n1) {
    for (long n = n0; n < n1; n++) {
      const uint8_t* row = w + n * rowBytes;
      for (long m = 0; m < M; m++) out[m * N + n] = rowDot(path, (int)format, row, acts, m);
    }
  };
  ThreadPool& pool = kernelPool();
  const double macs = (double)M * N * K;
  // A few tasks per thread: the pool hands them out as threads free up (a busy core lags).
  const long tasks = (pool.threads() > 1 && macs >= PARALLEL_MIN_MACS) ? std::max(1L, std::min<long>(4L * pool.threads(), N / MIN_COLUMNS_PER_TASK)) : 1;
  parallelFor(pool, (int)tasks, [&](int t, int) { columns(N * t / tasks, N * (t + 1) / tasks); });
}

/** One packed row → K floats, ggml's dequantize_row_* (d·q is exact in float: ≤ 19 significant bits). */
void dequantizeRow(int format, const uint8_t* row, long K, float* out) {
  const QuantFormatInfo& fi = QUANT_INFO[format];
  for (long b = 0; b < K / fi.blockSize; b++) {
    const uint8_t* block = row + b * fi.blockBytes;
    float* o = out + b * fi.blockSize;
    const float d = halfToFloat(readHalfBits(block));
    if (format == QUANT_Q8_0) {
      for (int j = 0; j < 32; j++) o[j] = d * (float)(int8_t)block[2 + j];
    } else if (format == QUANT_Q4_0) {
      for (int j = 0; j < 16; j++) {
        o[j] = d * (float)((block[2 + j] & 0x0f) - 8);
        o[16 + j] = d * (float)((block[2 + j] >> 4) - 8);
      }
    } else {
      const float m = halfToFloat(readHalfBits(block + 2));
      for (int j = 0; j < 64; j++) {
        o[j] = d * (float)(block[4 + j] & 0x0f) + m;
        o[64 + j] = d * (float)(block[4 + j] >> 4) + m;
      }
    }
  }
}

// qgather(format, out, w, ids, N, K)
void Qgather(const Napi::CallbackInfo& info) {
  entryName = "qgather";
  if (info.Length() < 6) fail(info, "expected (format, out, w, ids, N, K)");
  const long format = countArg(info, 0, "format");
  if (format > QUANT_Q4_G128) fail(info, "format must be 0 (q8_0), 1 (q4_0) or 2 (q4_g128), got " + std::to_string(format));
  const QuantFormatInfo& fi = QUANT_INFO[format];
  const long N = countArg(info, 4, "N"), K = countArg(info, 5, "K");
  if (K == 0 || K % fi.blockSize != 0) fail(info, std::string(fi.name) + " needs K a positive multiple of " + std::to_string(fi.blockSize) + ", got K = " + std::to_string(K));
  const long rowBytes = K / fi.blockSize * fi.blockBytes;
  bool isTyped = false;
  napi_is_typedarray(info.Env(), info[3], &isTyped);
  if (!isTyped) fail(info, "ids must be an Int32Array");
  const size_t count = info[3].As<Napi::TypedArray>().ElementLength();
  const int32_t* ids = static_cast<const int32_t*>(arrayArg(info, 3, "ids", napi_int32_array, "Int32Array", count));
  float* out = static_cast<float*>(arrayArg(info, 1, "out", napi_float32_array, "Float32Array", count * (size_t)K));
  const uint8_t* w = static_cast<const uint8_t*>(arrayArg(info, 2, "w", napi_uint8_array, "Uint8Array", (size_t)(N * rowBytes)));
  for (size_t i = 0; i < count; i++) {
    if (ids[i] < 0 || ids[i] >= N) fail(info, "id " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is out of range for " + std::to_string(N) + " rows");
  }
  for (size_t i = 0; i < count; i++) dequantizeRow((int)format, w + ids[i] * rowBytes, K, out + i * K);
}

Napi::Value QuantInfo(const Napi::CallbackInfo& info) {
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("path", pathName(chosenPath()));
  Napi::Array supported = Napi::Array::New(info.Env());
  for (int p = 0, i = 0; p < PATH_COUNT; p++) if (pathSupported((QuantPath)p)) supported.Set(i++, PATH_NAMES[p]);
  result.Set("supported", supported);
  return result;
}

// quantSelectPath(name): forces the dot-product path ('avx512vnni' | 'avxvnni' | 'avx2' | 'portable'),
// or 'auto' to follow the ISA again; false (nothing changed) when this CPU or build cannot run it.
Napi::Value QuantSelectPath(const Napi::CallbackInfo& info) {
  entryName = "quantSelectPath";
  if (info.Length() < 1 || !info[0].IsString()) fail(info, "expected a path name");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name == "auto") {
    forcedPath = -1;
    return Napi::Boolean::New(info.Env(), true);
  }
  for (int p = 0; p < PATH_COUNT; p++) {
    if (name != PATH_NAMES[p]) continue;
    if (!pathSupported((QuantPath)p)) return Napi::Boolean::New(info.Env(), false);
    forcedPath = p;
    return Napi::Boolean::New(info.Env(), true);
  }
  fail(info, "unknown path '" + name + "' (avx512vnni, avxvnni, avx2, portable or auto)");
}

}  // namespace

void registerQuantKernels(Napi::Env env, Napi::Object exports) {
  exports.Set("qmatmul", Napi::Function::New(env, Qmatmul, "qmatmul"));
  exports.Set("qgather", Napi::Function::New(env, Qgather, "qgather"));
  exports.Set("quantInfo", Napi::Function::New(env, QuantInfo, "quantInfo"));
  exports.Set("quantSelectPath", Napi::Function::New(env, QuantSelectPath, "quantSelectPath"));
}
