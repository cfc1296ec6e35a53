// The thin SIMD layer the per-ISA code is written against (ggml's GGML_F32_VEC idea): one
// vector type, its width, and the handful of operations the sgemm micro-kernel needs. Each ISA
// translation unit defines exactly one QKV_ISA_* before including this file (and kernels.inc).
//
//   VEC            a vector of VLEN float32 lanes
//   VZERO()        all lanes 0            VSET1(x)     all lanes x
//   VLOAD(p)       VLEN floats from p (any alignment)      VSTORE(p, v)
//   VADD(a, b)     a + b                  VFMA(a, b, c) a·b + c (fused where the ISA has it)
#pragma once

#if defined(QKV_ISA_AVX512)
#include <immintrin.h>
#define VEC __m512
#define VLEN 16
#define VZERO() _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))

#elif defined(QKV_ISA_AVX2)
#include <immintrin.h>
#define VEC __m256
#define VLEN 8
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))

#elif defined(QKV_ISA_PORTABLE)
// GCC/Clang vector extensions: 4 lanes, lowered to SSE on x86 and NEON on ARM by the compiler.
#include <string.h>
typedef float qkv_v4sf __attribute__((vector_size(16)));
static inline qkv_v4sf qkv_load4(const float* p) { qkv_v4sf v; memcpy(&v, p, sizeof v); return v; }
static inline void qkv_store4(float* p, qkv_v4sf v) { memcpy(p, &v, sizeof v); }
#define VEC qkv_v4sf
#define VLEN 4
#define VZERO() (qkv_v4sf{0.f, 0.f, 0.f, 0.f})
#define VSET1(x) (qkv_v4sf{0.f, 0.f, 0.f, 0.f} + (float)(x))
#define VLOAD(p) qkv_load4(p)
#define VSTORE(p, v) qkv_store4((p), (v))
#define VADD(a, b) ((a) + (b))
#define VFMA(a, b, c) ((a) * (b) + (c))

#else
#error "define one of QKV_ISA_AVX512, QKV_ISA_AVX2, QKV_ISA_PORTABLE before including simd.h"
#endif
