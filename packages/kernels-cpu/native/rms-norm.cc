// Fused RMSNorm over the last axis (kernels DcRmsNorm / DcRmsNormBackward of @dcformer/kernels):
// one pass per row for mean(x²), one to write; the backward adds one dot product per row and a
// per-thread accumulation of dweight. Replaces ~6 tfjs ops forward and ~12 backward per call.
#include "common.h"
#include <cmath>
#include <omp.h>
#include <vector>

namespace dcf {
namespace {

inline float rowInvRms(const float* x, int64_t D, float eps) {
  float ss = 0;
#pragma omp simd reduction(+ : ss)
  for (int64_t j = 0; j < D; j++) ss += x[j] * x[j];
  return 1.0f / std::sqrt(ss / static_cast<float>(D) + eps);
}

}  // namespace

// rmsNormForward(x, weight, y, rows, D, eps)
napi_value RmsNormForward(napi_env env, napi_callback_info info) {
  Args args(env, info, 6);
  const float* x = args.f32(0);
  const float* w = args.f32(1);
  float* y = args.f32(2);
  const int64_t rows = args.i64(3), D = args.i64(4);
  const float eps = static_cast<float>(args.f64(5));
  if (args.failed()) return nullptr;
#pragma omp parallel for schedule(static) if (rows * D > (1 << 15) && rows > 1)
  for (int64_t r = 0; r < rows; r++) {
    const float* px = x + r * D;
    float* py = y + r * D;
    const float inv = rowInvRms(px, D, eps);
#pragma omp simd
    for (int64_t j = 0; j < D; j++) py[j] = (px[j] * inv) * w[j];
  }
  return nullptr;
}

// rmsNormBackward(x, weight, dy, dx, dweight, rows, D, eps)
napi_value RmsNormBackward(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  const float* x = args.f32(0);
  const float* w = args.f32(1);
  const float* dy = args.f32(2);
  float* dx = args.f32(3);
  float* dw = args.f32(4);
  const int64_t rows = args.i64(5), D = args.i64(6);
  const float eps = static_cast<float>(args.f64(7));
  if (args.failed()) return nullptr;
  const bool parallel = rows * D > (1 << 15) && rows > 1;
  const int threads = parallel ? omp_get_max_threads() : 1;
  std::vector<float> partial(static_cast<size_t>(threads) * D, 0.0f);
#pragma omp parallel num_threads(threads) if (parallel)
  {
    float* mine = partial.data() + static_cast<size_t>(omp_get_thread_num()) * D;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float* px = x + r * D;
      const float* pdy = dy + r * D;
      float* pdx = dx + r * D;
      const float inv = rowInvRms(px, D, eps);
      float gx = 0;
#pragma omp simd reduction(+ : gx)
      for (int64_t j = 0; j < D; j++) gx += pdy[j] * w[j] * px[j];
      const float k = inv * inv * inv * gx / static_cast<float>(D);
#pragma omp simd
      for (int64_t j = 0; j < D; j++) {
        pdx[j] = inv * (pdy[j] * w[j]) - px[j] * k;
        mine[j] += pdy[j] * (px[j] * inv);
      }
    }
  }
  for (int64_t j = 0; j < D; j++) {
    float s = 0;
    for (int t = 0; t < threads; t++) s += partial[static_cast<size_t>(t) * D + j];
    dw[j] = s;
  }
  return nullptr;
}

}  // namespace dcf
