{
  # The native CPU kernels (src/kernels/native), built by scripts/build-native.mjs during
  # `npm ci` (the `install` script). One ISA-neutral part (packing, threads, Node-API) and one
  # translation unit per ISA; dispatch.cc picks the widest the CPU runs.
  "targets": [
    {
      "target_name": "qkv_native",
      "sources": [
        "src/kernels/native/addon.cc",
        "src/kernels/native/attention.cc",
        "src/kernels/native/dispatch.cc",
        "src/kernels/native/gemm16.cc",
        "src/kernels/native/mmap.cc",
        "src/kernels/native/pool.cc",
        "src/kernels/native/quant.cc",
        "src/kernels/native/rope.cc",
        "src/kernels/native/sgemm.cc",
        "src/kernels/native/strided.cc",
        "src/kernels/native/isa-avx512.cc",
        "src/kernels/native/isa-avx2.cc",
        "src/kernels/native/isa-portable.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
