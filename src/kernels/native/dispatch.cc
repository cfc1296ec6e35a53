// Runtime ISA dispatch, in one place: the widest kernel table this CPU runs (AVX-512F, else
// AVX2 + FMA, else the portable build). QKV_NATIVE_ISA=avx2|portable forces a narrower one.
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "sgemm.h"

static bool cpuHas(const char* isa) {
#if defined(__x86_64__) || defined(_M_X64)
  if (strcmp(isa, "avx512") == 0) return __builtin_cpu_supports("avx512f") && qkvAvx512Kernels.microKernel != nullptr;
  if (strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && qkvAvx2Kernels.microKernel != nullptr;
#endif
  return strcmp(isa, "portable") == 0;
}

static const KernelTable* tableNamed(const char* isa) {
  if (strcmp(isa, "avx512") == 0) return &qkvAvx512Kernels;
  if (strcmp(isa, "avx2") == 0) return &qkvAvx2Kernels;
  if (strcmp(isa, "portable") == 0) return &qkvPortableKernels;
  return nullptr;
}

static const KernelTable* chosen = nullptr;

static const KernelTable* widest() {
  const char* forced = getenv("QKV_NATIVE_ISA");
  if (forced != nullptr && *forced != 0 && cpuHas(forced)) return tableNamed(forced);
  for (const char* isa : {"avx512", "avx2"}) if (cpuHas(isa)) return tableNamed(isa);
  return &qkvPortableKernels;
}

const KernelTable& kernelTable() {
  if (chosen == nullptr) chosen = widest();
  return *chosen;
}

/** Switch to `isa` if this CPU runs it (tests run every path they can); false otherwise. */
bool selectIsa(const char* isa) {
  if (!cpuHas(isa)) return false;
  chosen = tableNamed(isa);
  return true;
}
