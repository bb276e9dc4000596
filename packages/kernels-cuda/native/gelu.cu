// DcGelu / DcGeluBackward: exact GELU, x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2, one element per thread.
// erff is the C library's on the host and CUDA's (≤ 2 ulp) on the device.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

struct GeluForward {
  const float* x;
  float* y;
  __host__ __device__ void operator()(int64_t i) const { y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * kInvSqrt2)); }
};

// d/dx x·Φ(x) = Φ(x) + x·φ(x)
struct GeluBackward {
  const float *x, *dy;
  float* dx;
  __host__ __device__ void operator()(int64_t i) const {
    const float v = x[i];
    const float cdf = 0.5f * (1.0f + erff(v * kInvSqrt2));
    const float pdf = expf(-0.5f * v * v) * kInvSqrt2Pi;
    dx[i] = dy[i] * (cdf + v * pdf);
  }
};

}  // namespace

void geluForward(const float* x, float* y, int64_t n) { forEachIndex(GeluForward{x, y}, n); }
void geluBackward(const float* x, const float* dy, float* dx, int64_t n) { forEachIndex(GeluBackward{x, dy, dx}, n); }

}  // namespace dcf
