// The dynamic weight projection of DCMHA (docs/dcmha.md; @dcformer/compose `dynamicWeights`, G = 1),
// forward only, fused: from one position's attention-normed input x [D], for each of the C = 4
// Compose slots (pre-query, pre-key, post-query, post-key)
//   hidden[k] = GELU(Σ_d x[d]·dw1[d,c,k])                   k < K
//   w[j]      = Σ_k hidden[k]·qkw[c,k,j]                     j < 2I·N, viewed as [2I, N]
//   w1[i,:]   = w[i,:] / √(mean_n w[i,n]² + 1e-6)            i < I  (RMSNormNoScale over N)
//   w2[i,:]   = w[I + i, :]
//   dd[c,n]   = tanh(Σ_d x[d]·ddW[d, c·N + n])
// One thread per (position, slot). This is the decode-shaped kernel (few positions: one launch instead
// of a dozen tfjs ops); for training-sized inputs the GEMM path (two GEMMs + GELU + RMSNorm kernels)
// is the better GPU plan. Outputs: w1, w2 [C, X, I, N]; dd [X, C, N] (X = B·T positions).
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

constexpr float kInvSqrt2 = 0.70710678118654752f;

struct DynamicWeights {
  const float *x, *dw1, *qkw, *ddW;
  float *w1, *w2, *dd;
  int64_t X, D, K, I, N;
  __host__ __device__ void operator()(int64_t idx) const {
    const int64_t c = idx % 4, p = idx / 4;
    const float* xp = x + p * D;
    float hidden[kDynamicMaxK];
    for (int64_t k = 0; k < K; k++) {
      float s = 0;
      for (int64_t d = 0; d < D; d++) s += xp[d] * dw1[(d * 4 + c) * K + k];
      hidden[k] = 0.5f * s * (1.0f + erff(s * kInvSqrt2));
    }
    const float* q = qkw + c * K * 2 * I * N;  // [K, 2I·N] of this slot
    float row[kComposeMaxN];
    for (int64_t r = 0; r < 2 * I; r++) {
      float ss = 0;
      for (int64_t n = 0; n < N; n++) {
        float s = 0;
        for (int64_t k = 0; k < K; k++) s += hidden[k] * q[k * 2 * I * N + r * N + n];
        row[n] = s;
        ss += s * s;
      }
      const bool first = r < I;  // the w1 half is normalised, the w2 half is not
      const float scale = first ? 1.0f / sqrtf(ss / static_cast<float>(N) + 1e-6f) : 1.0f;
      float* dst = (first ? w1 : w2) + ((c * X + p) * I + (first ? r : r - I)) * N;
      for (int64_t n = 0; n < N; n++) dst[n] = row[n] * scale;
    }
    for (int64_t n = 0; n < N; n++) {
      float s = 0;
      for (int64_t d = 0; d < D; d++) s += xp[d] * ddW[d * 4 * N + c * N + n];
      dd[(p * 4 + c) * N + n] = tanhf(s);
    }
  }
};

}  // namespace

void dynamicWeights(const float* x, const float* dw1, const float* qkw, const float* ddW, float* w1, float* w2, float* dd, int64_t X,
                    int64_t D, int64_t K, int64_t I, int64_t N) {
  forEachIndex(DynamicWeights{x, dw1, qkw, ddW, w1, w2, dd, X, D, K, I, N}, X * 4);
}

}  // namespace dcf
