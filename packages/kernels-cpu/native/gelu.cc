// Exact GELU and its gradient (kernels DcGelu / DcGeluBackward of @dcformer/kernels): one pass each
// instead of 5 tfjs ops forward and ~10 backward.
#include "common.h"
#include "vexp.h"
#include <cmath>
#include <omp.h>

namespace dcf {

// geluForward(x, y, n) / geluBackward(x, dy, dx, n)
napi_value GeluForward(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  const float* x = args.f32(0);
  float* y = args.f32(1);
  const int64_t n = args.i64(2);
  if (args.failed()) return nullptr;
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
  return nullptr;
}

napi_value GeluBackward(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  const float* x = args.f32(0);
  const float* dy = args.f32(1);
  float* dx = args.f32(2);
  const int64_t n = args.i64(3);
  if (args.failed()) return nullptr;
#pragma omp parallel for schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; i++) {
    const float v = x[i];
    const float cdf = 0.5f * (1.0f + std::erf(v * 0.70710678118654752f));
    const float pdf = vexpFlush(-0.5f * v * v) * 0.39894228040143268f;
    dx[i] = dy[i] * (cdf + v * pdf);
  }
  return nullptr;
}

}  // namespace dcf
