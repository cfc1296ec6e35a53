// The kernels of kernels.inc compiled for portable: micro-tile 4×(2·VLEN). dispatch.cc uses this
// table only when the CPU reports the ISA at run time.
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "isa.h"

#if 1
// No target pragma: the baseline of whatever machine compiles this (SSE2 on x86-64, NEON on arm64).
#define QKV_ISA_PORTABLE
#define QKV_MR 4
#define QKV_ISA_NAMESPACE isa_portable
#include "simd.h"
#include "kernels.inc"

const KernelTable qkvPortableKernels = {"portable", QKV_TABLE_ENTRIES};
#else
const KernelTable qkvPortableKernels = {"portable", 0, 0, nullptr};
#endif
