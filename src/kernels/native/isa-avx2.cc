// The kernels of kernels.inc compiled for avx2: micro-tile 6×(2·VLEN). dispatch.cc uses this
// table only when the CPU reports the ISA at run time.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#pragma GCC target("avx2,fma,bmi2")
#define QKV_ISA_AVX2
#define QKV_MR 6
#define QKV_ISA_NAMESPACE isa_avx2
#include "simd.h"
#include "kernels.inc"

const KernelTable qkvAvx2Kernels = {"avx2", QKV_TABLE_ENTRIES};
#else
const KernelTable qkvAvx2Kernels = {"avx2", 0, 0, nullptr};
#endif
