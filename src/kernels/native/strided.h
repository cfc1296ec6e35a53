// See strided.cc.
#pragma once

enum { OP_COPY = 0, OP_ADD = 1, OP_SUB = 2, OP_MUL = 3, OP_DIV = 4 };

struct StridedOp {
  int op;
  int rank;  // 1..8, after coalescing
  long dims[8];
  float* out;
  long outStrides[8];
  const float* a;
  long aStrides[8];
  const float* b;  // = a for a copy, strides 0
  long bStrides[8];
};

void stridedElementwise(const StridedOp& s);
