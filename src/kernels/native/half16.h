// bf16 / fp16 ⇄ fp32 conversions of contiguous runs, for gemm16.cc's packing and its encode16
// entry. Scalar versions are exact bit-level ports of src/io/half.ts (and the TypeScript encoders
// of src/nn/linear16.ts: round to nearest even, fp16 overflow to ±inf, subnormals, quiet NaNs);
// the x86 versions are functions with target attributes (F16C, AVX-512F/BW/VL vcvtph2ps / vcvtps2ph,
// the same IEEE rounding), called only after __builtin_cpu_supports says the CPU has them.
#pragma once
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

enum HalfPath { HALF_SCALAR, HALF_F16C, HALF_AVX512 };

// ---- 16 → 32 bits ----------------------------------------------------------------------------------

static inline float bf16ToFloat(uint16_t h) {
  const uint32_t w = static_cast<uint32_t>(h) << 16;
  float f;
  memcpy(&f, &w, 4);
  return f;
}

// Exact for every pattern: the exponent/mantissa bits moved into fp32's places give the value
// scaled by 2^-112 (subnormals land on fp32 denormals), and one multiply rebiases; inf/NaN kept.
static inline float fp16ToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t magnitude = h & 0x7fff;
  uint32_t w;
  if (magnitude >= 0x7c00) {
    w = 0x7f800000u | ((magnitude & 0x3ff) << 13);
  } else {
    const uint32_t shifted = magnitude << 13;
    float f;
    memcpy(&f, &shifted, 4);
    f *= 5.192296858534828e33f;  // 2^112
    memcpy(&w, &f, 4);
  }
  w |= sign;
  float out;
  memcpy(&out, &w, 4);
  return out;
}

// ---- 32 → 16 bits, round to nearest even -----------------------------------------------------------

static inline uint16_t floatToBf16(float value) {
  uint32_t w;
  memcpy(&w, &value, 4);
  if ((w & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((w >> 16) | 0x40);  // NaN: keep the sign, quiet
  return static_cast<uint16_t>((w + 0x7fff + ((w >> 16) & 1)) >> 16);
}

static inline uint16_t floatToFp16(float value) {
  uint32_t w;
  memcpy(&w, &value, 4);
  const uint32_t sign = (w >> 16) & 0x8000;
  const uint32_t abs = w & 0x7fffffff;
  if (abs > 0x7f800000) return static_cast<uint16_t>(sign | 0x7e00 | ((abs >> 13) & 0x3ff));  // NaN, quiet
  if (abs >= 0x477ff000) return static_cast<uint16_t>(sign | 0x7c00);  // ≥ 65520 rounds past 65504: inf
  if (abs >= 0x38800000) return static_cast<uint16_t>(sign | ((abs - 0x38000000 + 0xfff + ((abs >> 13) & 1)) >> 13));  // normal: rebias
  // Subnormal: 0.5 + |v| has an ulp of 2^-24, so the float addition rounds |v| to units of 2^-24
  // (to nearest even); the units are what is left above 0.5's bits (1024 = the smallest normal).
  const uint32_t halfBits = 126u << 23;
  float magnitude, half;
  memcpy(&magnitude, &abs, 4);
  memcpy(&half, &halfBits, 4);
  const float sum = magnitude + half;
  uint32_t units;
  memcpy(&units, &sum, 4);
  return static_cast<uint16_t>(sign | (units - halfBits));
}

#if defined(__x86_64__) || defined(_M_X64)
__attribute__((target("avx,f16c"))) static inline void widenFp16F16c(const uint16_t* src, long n, float* dst) {
  long i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; i++) dst[i] = fp16ToFloat(src[i]);
}

// The tail (n mod 16, e.g. the 12 values of one packed A column) as one masked load and store:
// masked-off lanes are never read, so nothing past src + n is touched.
__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline void widenFp16Avx512(const uint16_t* src, long n, float* dst) {
  long i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  if (i < n) {
    const __mmask16 lanes = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, lanes, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, src + i)));
  }
}

__attribute__((target("avx,f16c"))) static inline void encodeFp16F16c(const float* src, long n, uint16_t* dst) {
  long i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; i++) dst[i] = floatToFp16(src[i]);
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline void encodeFp16Avx512(const float* src, long n, uint16_t* dst) {
  long i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; i++) dst[i] = floatToFp16(src[i]);
}
#endif

/** n contiguous 16-bit patterns (bf16 when `bf16`, else fp16) → fp32, exactly. */
static inline void widenRun16(bool bf16, HalfPath path, const uint16_t* src, long n, float* dst) {
  if (bf16) {
    for (long i = 0; i < n; i++) dst[i] = bf16ToFloat(src[i]);  // a shift: the compiler vectorises it
    return;
  }
#if defined(__x86_64__) || defined(_M_X64)
  if (path == HALF_AVX512) return widenFp16Avx512(src, n, dst);
  if (path == HALF_F16C) return widenFp16F16c(src, n, dst);
#endif
  (void)path;
  for (long i = 0; i < n; i++) dst[i] = fp16ToFloat(src[i]);
}

/** n contiguous fp32 values → 16-bit patterns, to nearest even. */
static inline void encodeRun16(bool bf16, HalfPath path, const float* src, long n, uint16_t* dst) {
  if (bf16) {
    for (long i = 0; i < n; i++) dst[i] = floatToBf16(src[i]);  // integer rounding: the compiler vectorises it
    return;
  }
#if defined(__x86_64__) || defined(_M_X64)
  if (path == HALF_AVX512) return encodeFp16Avx512(src, n, dst);
  if (path == HALF_F16C) return encodeFp16F16c(src, n, dst);
#endif
  (void)path;
  for (long i = 0; i < n; i++) dst[i] = floatToFp16(src[i]);
}
