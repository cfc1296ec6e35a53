// The kernels of kernels.inc compiled for avx512: micro-tile 12×(2·VLEN). dispatch.cc uses this
// table only when the CPU reports the ISA at run time.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma,bmi2")
#define QKV_ISA_AVX512
#define QKV_MR 12
#define QKV_ISA_NAMESPACE isa_avx512
#include "simd.h"
#include "kernels.inc"

const KernelTable qkvAvx512Kernels = {"avx512", QKV_TABLE_ENTRIES};
#else
const KernelTable qkvAvx512Kernels = {"avx512", 0, 0, nullptr};
#endif
