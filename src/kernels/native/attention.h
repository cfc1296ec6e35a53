// See attention.cc.
#pragma once
#include <stdint.h>

struct AttentionShape {
  int B, NH, T, hs;
  bool causal;
  const uint8_t* keyPad;  // (B, T), 1 = padded key; null for none
  float scale;
};

void attentionForward(const AttentionShape& s, const float* q, const float* k, const float* v, float* out, float* lse);
void attentionBackward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* out, const float* dout, const float* lse,
                       float* dq, float* dk, float* dv);
