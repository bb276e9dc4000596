// Fused DCMHA attention for a few query rows per batch row (decode: T = 1), attention-decode.cc.
#pragma once
#include <cstdint>

namespace dcf {

// What attention.cc's forward has read from its arguments (its Geometry and weight slots).
struct DecodeCall {
  int64_t B, N, T, S, E, I;
  int64_t window;  // 0: global
  int64_t qOff, kOff;
  const int32_t* keyStart;  // [B] or null
  bool qSide, kSide, composed;
  float scale;
  const float* w[2][6];  // [pre, post] × [qw1, qw2, qdd, kw1, kw2, kdd], null when absent
  // Elements from one head's keys (and values) to the next: 0 for S·E ([B,N,S,E] packed); a decode
  // cache's capacity times E when k and v are rows of a longer buffer (decode-layer.cc).
  int64_t kvStride = 0;
  // Rows per batch row of the key-side weights kw1, kw2, kdd: 0 for S; a decode cache's capacity.
  int64_t sideRows = 0;
};

// True when the row-by-row path beats attention.cc's blocks of NR query lanes: a block costs NR
// lanes' work whatever its rows, so T ≤ 4 rows run here (a decode step's one row: 1/32 of the work
// on AVX-512). DCFORMER_ATTENTION_DECODE=0 turns the path off (to compare both).
bool decodeRowsSuit(int64_t T);

// The forward of DcmhaAttention (out [B,N,T,E], stats [B,N,T,2] = row max and 1/Σexp, as the
// block path writes them, so the backward reads either).
void attentionDecodeForward(const DecodeCall& c, const float* q, const float* k, const float* v, float* out,
                            float* stats);

}  // namespace dcf
