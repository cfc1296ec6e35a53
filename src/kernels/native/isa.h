// What each ISA build of the kernels (isa-avx512.cc, isa-avx2.cc, isa-portable.cc, all from
// kernels.inc) provides, as one table of plain C function pointers. dispatch.cc picks one table
// at load time; everything else (packing, blocking, threads, N-API) is shared and ISA-neutral.
//
// Legend: B = batch, T = time, C = channels, V = vocab, NH = heads, hs = head size; M, N, K are
// the matmul sizes; N also counts rows (B·T) in the row kernels. Rows are contiguous, row-major.
#pragma once
#include <stdint.h>

struct AdamScalars {
  float beta1, beta2, oneMinusBeta1, oneMinusBeta2, l2Penalty, keep, stepSize, biasCorrection2Sqrt, eps;
};

struct KernelTable {
  const char* name;  // "avx512", "avx2", "portable"
  int MR, NR;        // micro-tile of C held in registers
  // C[MR×NR] (+)= A·B over kc: A packed as kc columns of MR values, B as kc rows of NR values.
  void (*microKernel)(int kc, const float* A, const float* B, float* C, long ldc, int accumulate);

  // y += alpha·x and x·y over n floats: the matrix-vector products of decoding (sgemm.cc).
  void (*axpy)(long n, float alpha, const float* x, float* y);
  float (*dot)(long n, const float* x, const float* y);

  // out[c] = scale·Σ_rows a[r·lda + c] for c < cols, summed in float64 in row order.
  void (*columnSums)(long rows, long cols, const float* a, long lda, double* totals, float* out, double scale);

  void (*expRow)(long n, const float* x, float* y);
  void (*geluForward)(long n, const float* x, const float* bias, long C, float* y);
  void (*geluBackward)(long n, const float* x, const float* bias, long C, const float* g, float* dx, float* dbias);

  void (*layerNormForward)(long rows, long C, const float* inp, const float* w, const float* b, float* out, double* mean, double* rstd, float eps);
  void (*layerNormBackward)(long rows, long C, const float* dout, const float* inp, const float* w, const double* mean, const double* rstd, float* dinp, float* dw, float* db);
  void (*rmsNormForward)(long rows, long C, const float* inp, const float* w, float* out, double* rrms, float eps);
  void (*rmsNormBackward)(long rows, long C, const float* dout, const float* inp, const float* w, const double* rrms, float* dinp, float* dw);

  void (*crossEntropyForward)(long rows, long C, const float* logits, const int32_t* targets, float* losses, double* lse, int ignoreIndex, float smoothing);
  void (*crossEntropyBackward)(long rows, long C, const float* logits, const double* lse, const int32_t* targets, const double* rowScales, float* dlogits, int ignoreIndex, float smoothing);

  void (*adamUpdate)(long n, float* param, const float* grad, float* m, float* v, const AdamScalars* s);

  // Attention rows: S row i (length T) → softmax in place, returns lse; the masks as in attention.cc.
  float (*softmaxRow)(float* row, int T, int end, const uint8_t* pad, float scale);
  void (*expRowShifted)(float* row, int T, int end, const uint8_t* pad, float scale, float lse);
  void (*softmaxGradRow)(float* dP, const float* P, int end, float D, float scale);

  // Unary ops (codes as UNARY_OPS in src/kernels/reference/unary.ts), forward and backward.
  void (*unaryForward)(int op, long n, const float* x, float* y, float slope);
  void (*unaryBackward)(int op, long n, const float* g, const float* x, const float* y, float* dx, float slope);
  // Softmax (logarithm = 0) or log-softmax (1) over contiguous rows of C, and its backward.
  void (*softmaxRows)(long rows, long C, const float* x, float* y, int logarithm);
  void (*softmaxRowsBackward)(long rows, long C, const float* dout, const float* y, float* dinp, int logarithm);

  // Last-axis reductions over contiguous rows of C, and Σ a² in double (gradient norms).
  void (*rowSums)(long rows, long C, const float* a, float* out, double scale);
  void (*rowMax)(long rows, long C, const float* a, float* values, float* indices);
  double (*sumOfSquares)(long n, const float* a);
};

extern const KernelTable qkvAvx512Kernels;
extern const KernelTable qkvAvx2Kernels;
extern const KernelTable qkvPortableKernels;
