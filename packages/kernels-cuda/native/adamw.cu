// DcAdamWUpdate (@dcformer/kernels adamw-op): one element per thread, reading param, grad, m, v once.
// The operations and their order are the reference's (grad·scale, param·decay, m + (g − m)(1 − β1), …).
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

struct AdamW {
  const float *p, *g, *m, *v;
  float *pOut, *mOut, *vOut;
  float gradScale, decay, oneMinusB1, beta2, oneMinusB2, eps, stepSize, bc2Sqrt;
  __host__ __device__ void operator()(int64_t i) const {
    const float gi = g[i] * gradScale;
    const float m1 = m[i] + (gi - m[i]) * oneMinusB1;
    const float v1 = v[i] * beta2 + (gi * gi) * oneMinusB2;
    const float denom = sqrtf(v1) / bc2Sqrt + eps;
    pOut[i] = p[i] * decay - (m1 / denom) * stepSize;
    mOut[i] = m1;
    vOut[i] = v1;
  }
};

}  // namespace

void adamW(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut, int64_t n,
           float gradScale, float decay, double beta1, double beta2, float eps, float stepSize, float bc2Sqrt) {
  // 1 − β in double, then rounded once: the reference computes these constants in JS (double), so
  // rounding β to float first would move m and v by an ulp.
  const float oneMinusB1 = static_cast<float>(1.0 - beta1), oneMinusB2 = static_cast<float>(1.0 - beta2);
  forEachIndex(AdamW{p, g, m, v, pOut, mOut, vOut, gradScale, decay, oneMinusB1, static_cast<float>(beta2), oneMinusB2, eps, stepSize, bc2Sqrt}, n);
}

}  // namespace dcf
