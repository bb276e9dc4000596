// DcmhaAttention's forward one query row at a time, for calls with few rows per batch row (a decode
// step: T = 1). attention.cc's blocks hold NR query lanes (32 on AVX-512) and pack k and v for the
// GEMM micro-kernel on every call, so a one-row call paid for 32 rows plus two copies of the cache:
// 0.33 ms per layer at 21 cached keys and 4.6 ms at 512 on the 2.8B shape (N = 32, E = 80). Here a
// row costs its own q·kᵀ, Compose, softmax and ·v, reading k and v where they are.
//
// Scores are kept key-major, [key][head], so that each key's Compose (which mixes heads) reads and
// writes one contiguous row. Same semantics as attention.cc (its header states them): visible keys,
// Compose of the visible keys only, softmax statistics (row max, 1/Σexp; 0 and 0 for a row that sees
// nothing, whose output is 0), and the same order of every sum over keys.
#include "attention-decode.h"
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "vexp.h"

namespace dcf {
namespace {

constexpr int64_t kMaxRank = 4;  // attention.cc refuses a larger I before calling here

// f(i) for i in [0, n): shared among the threads of the enclosing parallel region (an orphaned omp
// for, whose barrier orders the phases of a row), or all on this thread.
template <bool Shared, typename F>
inline void forEach(int64_t n, F&& f) {
  if constexpr (Shared) {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; i++) f(i);
  } else {
    for (int64_t i = 0; i < n; i++) f(i);
  }
}

// One key's Compose over the heads, in place on x [N]:
//   x[m] ← x[m]·(1 + qdd[m] + kdd[m]) + Σ_i (Σ_n x[n]·qw1[i][n])·qw2[i][m] + (Σ_n x[n]·kw1[i][n])·kw2[i][m]
// qw*/kw* null: that side is off; qdd/kdd point at zeros then (1 + 0 + 0 is exactly 1).
inline void composeKey(int64_t N, int64_t I, float* x, const float* qw1, const float* qw2, const float* qdd,
                       const float* kw1, const float* kw2, const float* kdd) {
  float hq[kMaxRank] = {}, hk[kMaxRank] = {};
  for (int64_t i = 0; i < I; i++) {
    if (qw1 != nullptr) {
      float s = 0;
      for (int64_t n = 0; n < N; n++) s += x[n] * qw1[i * N + n];
      hq[i] = s;
    }
    if (kw1 != nullptr) {
      float s = 0;
      for (int64_t n = 0; n < N; n++) s += x[n] * kw1[i * N + n];
      hk[i] = s;
    }
  }
#pragma omp simd
  for (int64_t m = 0; m < N; m++) x[m] *= 1.0f + qdd[m] + kdd[m];
  for (int64_t i = 0; i < I; i++) {
    if (qw2 != nullptr) {
      const float a = hq[i];
      const float* w = qw2 + i * N;
#pragma omp simd
      for (int64_t m = 0; m < N; m++) x[m] += a * w[m];
    }
    if (kw2 != nullptr) {
      const float a = hk[i];
      const float* w = kw2 + i * N;
#pragma omp simd
      for (int64_t m = 0; m < N; m++) x[m] += a * w[m];
    }
  }
}

// One Compose call (side 0 pre, 1 post) on the row's scores X [L][N], keys lo … lo + L − 1.
template <bool Shared>
void composeRow(const DecodeCall& c, int side, int64_t b, int64_t t, int64_t lo, int64_t L, float* X,
                const float* zeros) {
  const int64_t N = c.N, I = c.I, T = c.T, S = c.S;
  const float* const* w = c.w[side];
  const int64_t qr = b * T + t;
  const float* qw1 = c.qSide ? w[0] + qr * I * N : nullptr;
  const float* qw2 = c.qSide ? w[1] + qr * I * N : nullptr;
  const float* qdd = c.qSide ? w[2] + qr * N : zeros;
  forEach<Shared>(L, [&](int64_t s) {
    const int64_t kr = b * (c.sideRows > 0 ? c.sideRows : S) + lo + s;
    composeKey(N, I, X + s * N, qw1, qw2, qdd, c.kSide ? w[3] + kr * I * N : nullptr,
               c.kSide ? w[4] + kr * I * N : nullptr, c.kSide ? w[5] + kr * N : zeros);
  });
}

// Query row t of batch row b. X: [S][N] scores, Q: [N][E] scaled queries (scratch of the caller).
template <bool Shared>
void decodeRow(const DecodeCall& c, int64_t b, int64_t t, const float* q, const float* k, const float* v,
               float* out, float* stats, float* X, float* Q, const float* zeros) {
  const int64_t N = c.N, T = c.T, S = c.S, E = c.E;
  const int64_t p = c.qOff + t;
  const int64_t hi = std::min(S, p - c.kOff + 1);
  int64_t lo = c.window > 0 ? std::max<int64_t>(0, p - c.window + 1 - c.kOff) : 0;
  if (c.keyStart != nullptr) lo = std::max<int64_t>(lo, c.keyStart[b] - c.kOff);
  if (lo >= hi) {  // a padding query: output 0, statistics 0
    forEach<Shared>(N, [&](int64_t n) {
      const int64_t r = (b * N + n) * T + t;
      std::memset(out + r * E, 0, E * sizeof(float));
      stats[r * 2] = 0;
      stats[r * 2 + 1] = 0;
    });
    return;
  }
  const int64_t L = hi - lo;
  const int64_t hs = c.kvStride > 0 ? c.kvStride : S * E;
  // scores = (scale·q)·kᵀ (the block path scales q before the product too)
  forEach<Shared>(N, [&](int64_t n) {
    const float* qn = q + ((b * N + n) * T + t) * E;
    float* qs = Q + n * E;
    for (int64_t e = 0; e < E; e++) qs[e] = c.scale * qn[e];
    const float* kn = k + (b * N + n) * hs + lo * E;
    for (int64_t s = 0; s < L; s++) {
      float dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t e = 0; e < E; e++) dot += qs[e] * kn[s * E + e];
      X[s * N + n] = dot;
    }
  });
  if (c.composed) composeRow<Shared>(c, 0, b, t, lo, L, X, zeros);
  // softmax over the keys of each head (sums in key order, as the block path)
  forEach<Shared>(N, [&](int64_t n) {
    float m = -INFINITY;
    for (int64_t s = 0; s < L; s++) m = X[s * N + n] > m ? X[s * N + n] : m;
    float sum = 0;
    for (int64_t s = 0; s < L; s++) {
      const float e = vexpFlush(X[s * N + n] - m);
      X[s * N + n] = e;
      sum += e;
    }
    const float inv = sum > 0 ? 1.0f / sum : 0.0f;
    for (int64_t s = 0; s < L; s++) X[s * N + n] *= inv;
    const int64_t r = (b * N + n) * T + t;
    stats[r * 2] = m;
    stats[r * 2 + 1] = inv;
  });
  if (c.composed) composeRow<Shared>(c, 1, b, t, lo, L, X, zeros);
  // ·v, keys in order
  forEach<Shared>(N, [&](int64_t n) {
    float* o = out + ((b * N + n) * T + t) * E;
    std::memset(o, 0, E * sizeof(float));
    const float* vn = v + (b * N + n) * hs + lo * E;
    for (int64_t s = 0; s < L; s++) {
      const float a = X[s * N + n];
      const float* vs = vn + s * E;
#pragma omp simd
      for (int64_t e = 0; e < E; e++) o[e] += a * vs[e];
    }
  });
}

}  // namespace

bool decodeRowsSuit(int64_t T) {
  static const bool on = [] {
    const char* env = std::getenv("DCFORMER_ATTENTION_DECODE");
    return env == nullptr || std::strcmp(env, "0") != 0;
  }();
  return on && T <= 4;
}

void attentionDecodeForward(const DecodeCall& c, const float* q, const float* k, const float* v, float* out,
                            float* stats) {
  const int64_t rows = c.B * c.T;
  const std::vector<float> zeros(c.N, 0.0f);
  // a parallel region wakes the pool (0.3–0.5 ms with the passive wait policy): only for rows whose
  // k and v (N·S·E floats each) take longer than that to stream
  const bool big = static_cast<double>(c.N) * c.S * c.E * rows >= (1 << 21);
  if (rows == 1) {
    std::vector<float> X(c.S * c.N), Q(c.N * c.E);
    if (big) {
#pragma omp parallel
      decodeRow<true>(c, 0, 0, q, k, v, out, stats, X.data(), Q.data(), zeros.data());
    } else {
      decodeRow<false>(c, 0, 0, q, k, v, out, stats, X.data(), Q.data(), zeros.data());
    }
    return;
  }
#pragma omp parallel if (big)
  {
    std::vector<float> X(c.S * c.N), Q(c.N * c.E);
#pragma omp for schedule(dynamic)
    for (int64_t r = 0; r < rows; r++)
      decodeRow<false>(c, r / c.T, r % c.T, q, k, v, out, stats, X.data(), Q.data(), zeros.data());
  }
}

}  // namespace dcf
