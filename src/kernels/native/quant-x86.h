// The x86 SIMD dots of the quantised kernels, each a function compiled for its ISA with a target
// attribute (quant.cc calls one only after __builtin_cpu_supports says the CPU runs it), so the
// build needs no per-ISA flags. Same contracts as the scalar dots in quant-blocks.h.
//
// Signed int8 · int8 on instructions that multiply unsigned by signed (vpmaddubsw, vpdpbusd) uses
// ggml's sign trick: |w| · (x with w's sign), exact for every int8 w including −128 (|−128| = 128
// as an unsigned byte). The 4-bit codes of Q4_G128 are unsigned already and go in directly.
#pragma once
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "quant-blocks.h"

// GCC 12 reports its own intrinsics' `__Y = __Y` placeholders (the _mm512_undefined_* idiom) as
// uninitialised when they are inlined into target-attribute functions; the values are never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define QKV_AVX2 __attribute__((target("avx2,fma,f16c")))
#define QKV_VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
// AVX-VNNI (the VEX, 256-bit vpdpbusd of Alder Lake / Zen 5 without AVX-512) needs GCC 11 or
// clang 12 for the target name and the intrinsic; older compilers build without this path.
#if (defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11)
#define QKV_HAVE_AVXVNNI 1
#define QKV_AVXVNNI __attribute__((target("avxvnni,avx2,fma,f16c")))
#endif

// ---- AVX2: vpmaddubsw + vpmaddwd, one block of 32 per step --------------------------------------

QKV_AVX2 static inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/** 8 int32 partial sums of Σ w·x over 32 signed bytes each. */
QKV_AVX2 static inline __m256i dotSigned32Avx2(__m256i w, __m256i x) {
  const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));  // |2·128·127| < 2^15
  return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

/** Q4_0's 16 bytes → 32 signed codes q − 8 in weight order (low nibbles, then high nibbles). */
QKV_AVX2 static inline __m256i unpackQ4_0Avx2(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i nibbles = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0f));
  return _mm256_sub_epi8(nibbles, _mm256_set1_epi8(8));
}

QKV_AVX2 static float dotQ8_0Avx2(const uint8_t* w, const int8_t* xq, const float* xd, long blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (long b = 0; b < blocks; b++) {
    const uint8_t* block = w + b * 34;
    const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32));
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(readHalfBits(block)) * xd[b]);
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dotSigned32Avx2(qw, qx)), acc);
  }
  return hsum256(acc);
}

QKV_AVX2 static float dotQ4_0Avx2(const uint8_t* w, const int8_t* xq, const float* xd, long blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (long b = 0; b < blocks; b++) {
    const uint8_t* block = w + b * 18;
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32));
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(readHalfBits(block)) * xd[b]);
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dotSigned32Avx2(unpackQ4_0Avx2(block + 2), qx)), acc);
  }
  return hsum256(acc);
}

/** Σ over one sub-block of 32: unsigned 4-bit codes (as bytes) · signed x codes, 8 int32 lanes. */
QKV_AVX2 static inline __m256 dotUnsigned32Avx2(__m256i w, const int8_t* x) {
  const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(w, qx), _mm256_set1_epi16(1)));
}

QKV_AVX2 static float dotQ4G128Avx2(const uint8_t* w, const int8_t* xq, const float* xd, const float* groupSums, long groups) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  float offsets = 0.f;
  for (long g = 0; g < groups; g++) {
    const uint8_t* block = w + g * 68;
    const float d = _cvtsh_ss(readHalfBits(block));
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 4));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 36));
    const int8_t* x = xq + g * 128;
    const float* s = xd + g * 4;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * s[0]), dotUnsigned32Avx2(_mm256_and_si256(b0, low4), x), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * s[1]), dotUnsigned32Avx2(_mm256_and_si256(b1, low4), x + 32), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * s[2]), dotUnsigned32Avx2(_mm256_and_si256(_mm256_srli_epi16(b0, 4), low4), x + 64), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * s[3]), dotUnsigned32Avx2(_mm256_and_si256(_mm256_srli_epi16(b1, 4), low4), x + 96), acc);
    offsets += _cvtsh_ss(readHalfBits(block + 2)) * groupSums[g];
  }
  return hsum256(acc) + offsets;
}

// ---- AVX-VNNI: vpdpbusd on 256 bits (VEX), one block of 32 per step ------------------------------
// The same int32 lanes as AVX2's vpmaddubsw + vpmaddwd (lane i = Σ of bytes 4i..4i+3, exact), in one
// instruction instead of two, and the same float accumulation order: equal to the AVX2 path bit for bit.
#ifdef QKV_HAVE_AVXVNNI

/** 8 int32 partial sums of Σ w·x over 32 signed bytes each (the sign trick, as AVX2's). */
QKV_AVXVNNI static inline __m256i dotSigned32AvxVnni(__m256i w, __m256i x) {
  return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

QKV_AVXVNNI static float dotQ8_0AvxVnni(const uint8_t* w, const int8_t* xq, const float* xd, long blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (long b = 0; b < blocks; b++) {
    const uint8_t* block = w + b * 34;
    const __m256i qw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32));
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(readHalfBits(block)) * xd[b]);
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dotSigned32AvxVnni(qw, qx)), acc);
  }
  return hsum256(acc);
}

QKV_AVXVNNI static float dotQ4_0AvxVnni(const uint8_t* w, const int8_t* xq, const float* xd, long blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (long b = 0; b < blocks; b++) {
    const uint8_t* block = w + b * 18;
    const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + b * 32));
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(readHalfBits(block)) * xd[b]);
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dotSigned32AvxVnni(unpackQ4_0Avx2(block + 2), qx)), acc);
  }
  return hsum256(acc);
}

/** Σ over one sub-block of 32: unsigned 4-bit codes · signed x codes, straight into vpdpbusd. */
QKV_AVXVNNI static inline __m256 dotUnsigned32AvxVnni(__m256i w, const int8_t* x) {
  const __m256i qx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  return _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), w, qx));
}

QKV_AVXVNNI static float dotQ4G128AvxVnni(const uint8_t* w, const int8_t* xq, const float* xd, const float* groupSums, long groups) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  float offsets = 0.f;
  for (long g = 0; g < groups; g++) {
    const uint8_t* block = w + g * 68;
    const float d = _cvtsh_ss(readHalfBits(block));
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 4));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 36));
    const int8_t* x = xq + g * 128;
    const float* s = xd + g * 4;
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * s[0]), dotUnsigned32AvxVnni(_mm256_and_si256(b0, low4), x), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * s[1]), dotUnsigned32AvxVnni(_mm256_and_si256(b1, low4), x + 32), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * s[2]), dotUnsigned32AvxVnni(_mm256_and_si256(_mm256_srli_epi16(b0, 4), low4), x + 64), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * s[3]), dotUnsigned32AvxVnni(_mm256_and_si256(_mm256_srli_epi16(b1, 4), low4), x + 96), acc);
    offsets += _cvtsh_ss(readHalfBits(block + 2)) * groupSums[g];
  }
  return hsum256(acc) + offsets;
}

#endif  // QKV_HAVE_AVXVNNI

// ---- AVX-512 VNNI: vpdpbusd on 512 bits, two blocks of 32 per step -------------------------------

/** 16 int32 partial sums of Σ w·x over 64 signed bytes (two blocks: lanes 0–7 and 8–15). */
QKV_VNNI512 static inline __m512i dotSigned64Vnni(__m512i w, __m512i x) {
  const __m512i negatedWhereWNegative = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), negatedWhereWNegative);
}

// (not _mm512_reduce_add_ps: GCC 12's version warns about an uninitialised __m256d inside it)
QKV_VNNI512 static inline float hsum512(__m512 v) {
  const __m512 highHalf = _mm512_shuffle_f32x4(v, v, 0xee);  // lanes 8–15 moved down
  return hsum256(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_castps512_ps256(highHalf)));
}

/** Lanes 0–7 = a, 8–15 = b. */
QKV_VNNI512 static inline __m512 twoScales(float a, float b) { return _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(a), _mm512_set1_ps(b)); }

QKV_VNNI512 static inline __m512i join256(__m256i low, __m256i high) { return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1); }

QKV_VNNI512 static float dotQ8_0Vnni(const uint8_t* w, const int8_t* xq, const float* xd, long blocks) {
  __m512 acc = _mm512_setzero_ps();
  long b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const uint8_t* b0 = w + b * 34;
    const uint8_t* b1 = b0 + 34;
    const __m512i qw = join256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2)), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + 2)));
    const __m512i qx = _mm512_loadu_si512(xq + b * 32);
    const __m512 d = twoScales(_cvtsh_ss(readHalfBits(b0)) * xd[b], _cvtsh_ss(readHalfBits(b1)) * xd[b + 1]);
    acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(dotSigned64Vnni(qw, qx)), acc);
  }
  float tail = b < blocks ? dotQ8_0Avx2(w + b * 34, xq + b * 32, xd + b, blocks - b) : 0.f;
  return hsum512(acc) + tail;
}

QKV_VNNI512 static float dotQ4_0Vnni(const uint8_t* w, const int8_t* xq, const float* xd, long blocks) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m512i eight = _mm512_set1_epi8(8);
  __m512 acc = _mm512_setzero_ps();
  long b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const uint8_t* b0 = w + b * 18;
    const uint8_t* b1 = b0 + 18;
    const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b0 + 2));
    const __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b1 + 2));
    const __m256i n0 = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r0, 4), r0), low4);
    const __m256i n1 = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(r1, 4), r1), low4);
    const __m512i qw = _mm512_sub_epi8(join256(n0, n1), eight);
    const __m512i qx = _mm512_loadu_si512(xq + b * 32);
    const __m512 d = twoScales(_cvtsh_ss(readHalfBits(b0)) * xd[b], _cvtsh_ss(readHalfBits(b1)) * xd[b + 1]);
    acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(dotSigned64Vnni(qw, qx)), acc);
  }
  float tail = b < blocks ? dotQ4_0Avx2(w + b * 18, xq + b * 32, xd + b, blocks - b) : 0.f;
  return hsum512(acc) + tail;
}

QKV_VNNI512 static float dotQ4G128Vnni(const uint8_t* w, const int8_t* xq, const float* xd, const float* groupSums, long groups) {
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  __m512 acc = _mm512_setzero_ps();
  float offsets = 0.f;
  for (long g = 0; g < groups; g++) {
    const uint8_t* block = w + g * 68;
    const float d = _cvtsh_ss(readHalfBits(block));
    const __m512i bytes = _mm512_loadu_si512(block + 4);  // weights 0–63 in the low nibbles, 64–127 in the high
    const int8_t* x = xq + g * 128;
    const float* s = xd + g * 4;
    const __m512i low = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(bytes, low4), _mm512_loadu_si512(x));
    const __m512i high = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low4), _mm512_loadu_si512(x + 64));
    acc = _mm512_fmadd_ps(twoScales(d * s[0], d * s[1]), _mm512_cvtepi32_ps(low), acc);
    acc = _mm512_fmadd_ps(twoScales(d * s[2], d * s[3]), _mm512_cvtepi32_ps(high), acc);
    offsets += _cvtsh_ss(readHalfBits(block + 2)) * groupSums[g];
  }
  return hsum512(acc) + offsets;
}

#pragma GCC diagnostic pop
#endif
