// One fused AdamW step (kernel DcAdamWUpdate of @dcformer/kernels): reads param, grad, m, v once and
// writes the new three. The operations and their order are those of the reference tfjs ops, each
// rounded to float32 with no FMA contraction (the pragma: gcc contracts by default), so the results
// equal the reference's bit for bit.
#pragma GCC optimize("fp-contract=off")
#include "common.h"
#include <cmath>
#include <omp.h>

namespace dcf {

// adamW(param, grad, m, v, pOut, mOut, vOut, n, gradScale, decay, beta1, beta2, eps, stepSize, bc2Sqrt)
napi_value AdamW(napi_env env, napi_callback_info info) {
  Args args(env, info, 15);
  const float* p = args.f32(0);
  const float* grad = args.f32(1);
  const float* m = args.f32(2);
  const float* v = args.f32(3);
  float* pOut = args.f32(4);
  float* mOut = args.f32(5);
  float* vOut = args.f32(6);
  const int64_t n = args.i64(7);
  const float gradScale = static_cast<float>(args.f64(8));
  const float decay = static_cast<float>(args.f64(9));
  const float oneMinusB1 = static_cast<float>(1.0 - args.f64(10));
  const float beta2 = static_cast<float>(args.f64(11));
  const float oneMinusB2 = static_cast<float>(1.0 - args.f64(11));
  const float eps = static_cast<float>(args.f64(12));
  const float stepSize = static_cast<float>(args.f64(13));
  const float bc2Sqrt = static_cast<float>(args.f64(14));
  if (args.failed()) return nullptr;
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; i++) {
    const float g = grad[i] * gradScale;
    const float p0 = p[i] * decay;
    const float m1 = m[i] + (g - m[i]) * oneMinusB1;
    const float v1 = v[i] * beta2 + (g * g) * oneMinusB2;
    const float denom = std::sqrt(v1) / bc2Sqrt + eps;
    pOut[i] = p0 - (m1 / denom) * stepSize;
    mOut[i] = m1;
    vOut[i] = v1;
  }
  return nullptr;
}

}  // namespace dcf
