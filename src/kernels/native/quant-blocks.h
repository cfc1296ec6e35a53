// What every ISA path of the quantised kernels shares: the ggml block layouts, fp16 scales, the
// activation row quantised to 8 bits per block of 32 (as ggml's block_q8_0, but with a float32
// scale: the codes are what the int8·int8 dots read), and the portable scalar dots.
//
// Weight formats (src/compress/formats.ts; ggml-common.h):
//   Q8_0     34 bytes / 32 weights: d (fp16) | qs[32] int8                  w = d·q
//   Q4_0     18 bytes / 32 weights: d (fp16) | qs[16], byte j = w[j] | w[j+16] << 4   w = d·(q − 8)
//   Q4_G128  68 bytes / 128 weights: d (fp16) | m (fp16) | qs[64], byte j = w[j] | w[j+64] << 4
//                                                                             w = d·q + m
// Legend: M = activation rows, K = in_features (the quantised axis), N = out_features.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

enum QuantFormat { QUANT_Q8_0 = 0, QUANT_Q4_0 = 1, QUANT_Q4_G128 = 2 };

struct QuantFormatInfo {
  const char* name;
  int blockSize;   // weights per block
  int blockBytes;  // bytes per block
};

static const QuantFormatInfo QUANT_INFO[3] = {{"q8_0", 32, 34}, {"q4_0", 32, 18}, {"q4_g128", 128, 68}};

/** x (M, K) quantised per block of 32: codes (M·K) int8, scales (M·K/32), sums of x per group of 128 (M·K/128). */
struct QuantActivations {
  const int8_t* codes;
  const float* scales;
  const float* groupSums;  // only for Q4_G128 (its offset m multiplies Σx of the group)
  long K;
};

/** IEEE half → float, bit by bit (the portable path; the SIMD paths use F16C). */
static inline float halfToFloat(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    int e = 113;
    while ((mantissa & 0x400) == 0) {
      mantissa <<= 1;
      e--;
    }
    bits = sign | ((uint32_t)e << 23) | ((mantissa & 0x3ff) << 13);
  }
  float value;
  memcpy(&value, &bits, 4);
  return value;
}

static inline uint16_t readHalfBits(const uint8_t* p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/**
 * One row of K floats → K/32 blocks of int8 codes with scale amax/127 (ggml quantize_row_q8_0's
 * rule, roundf). A block with a NaN or infinity gets a NaN scale, so the outputs it feeds are NaN
 * rather than silently finite.
 */
static inline void quantizeActivationRow(const float* x, long K, int8_t* codes, float* scales, float* groupSums) {
  for (long b = 0; b < K / 32; b++) {
    const float* xb = x + b * 32;
    float amax = 0.f;
    bool finite = true;
    for (int j = 0; j < 32; j++) {
      const float a = fabsf(xb[j]);
      finite = finite && a <= 3.4028235e38f;  // false for NaN and ±inf
      amax = a > amax ? a : amax;
    }
    const float d = finite ? amax / 127.f : NAN;
    const float id = finite && d != 0.f ? 1.f / d : 0.f;
    scales[b] = d;
    for (int j = 0; j < 32; j++) {
      float q = roundf(xb[j] * id);
      q = q > 127.f ? 127.f : (q < -127.f ? -127.f : q);  // NaN·0 never reaches here as NaN: id is 0 then
      codes[b * 32 + j] = (int8_t)(q == q ? q : 0.f);
    }
  }
  if (groupSums != nullptr) {
    for (long g = 0; g < K / 128; g++) {
      float s = 0.f;
      for (int j = 0; j < 128; j++) s += x[g * 128 + j];
      groupSums[g] = s;
    }
  }
}

// ---- portable scalar dots: one weight row · one quantised activation row -----------------------

static inline float dotQ8_0Scalar(const uint8_t* w, const int8_t* xq, const float* xd, long blocks) {
  float acc = 0.f;
  for (long b = 0; b < blocks; b++) {
    const uint8_t* block = w + b * 34;
    const int8_t* qw = reinterpret_cast<const int8_t*>(block + 2);
    int32_t s = 0;
    for (int j = 0; j < 32; j++) s += (int32_t)qw[j] * xq[b * 32 + j];
    acc += halfToFloat(readHalfBits(block)) * xd[b] * (float)s;
  }
  return acc;
}

static inline float dotQ4_0Scalar(const uint8_t* w, const int8_t* xq, const float* xd, long blocks) {
  float acc = 0.f;
  for (long b = 0; b < blocks; b++) {
    const uint8_t* block = w + b * 18;
    const int8_t* x = xq + b * 32;
    int32_t s = 0;
    for (int j = 0; j < 16; j++) {
      s += ((block[2 + j] & 0x0f) - 8) * x[j];
      s += ((block[2 + j] >> 4) - 8) * x[16 + j];
    }
    acc += halfToFloat(readHalfBits(block)) * xd[b] * (float)s;
  }
  return acc;
}

static inline float dotQ4G128Scalar(const uint8_t* w, const int8_t* xq, const float* xd, const float* groupSums, long groups) {
  float acc = 0.f;
  for (long g = 0; g < groups; g++) {
    const uint8_t* block = w + g * 68;
    const uint8_t* qs = block + 4;
    const int8_t* x = xq + g * 128;
    float group = 0.f;
    for (int sub = 0; sub < 4; sub++) {  // sub-blocks of 32: low nibbles of bytes 0..63, then high nibbles
      const uint8_t* bytes = qs + (sub & 1) * 32;
      const int shift = sub < 2 ? 0 : 4;
      int32_t s = 0;
      for (int j = 0; j < 32; j++) s += ((bytes[j] >> shift) & 0x0f) * x[sub * 32 + j];
      group += xd[g * 4 + sub] * (float)s;
    }
    acc += halfToFloat(readHalfBits(block)) * group + halfToFloat(readHalfBits(block + 2)) * groupSums[g];
  }
  return acc;
}
