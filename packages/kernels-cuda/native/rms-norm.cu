// DcRmsNorm / DcRmsNormBackward over the last axis (rows of D): y = x·w / √(mean(x²) + eps).
// Forward and the dx half of the backward are row kernels (one block per row, a tree over lanes);
// dweight = Σ_rows dy·x·inv is a column sum, one thread per column, so no atomics and a fixed order.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

struct RmsForward {
  static constexpr int kPasses = 1;
  const float *x, *w;
  float* y;
  int64_t D;
  float eps;
  __host__ __device__ Combine op(int) const { return Combine::Sum; }
  __host__ __device__ float partial(int64_t r, int lane, int, const float*) const {
    float s = 0;
    for (int64_t j = lane; j < D; j += kRowLanes) s += x[r * D + j] * x[r * D + j];
    return s;
  }
  __host__ __device__ void finish(int64_t r, int lane, const float* done) const {
    const float inv = 1.0f / sqrtf(done[0] / static_cast<float>(D) + eps);
    for (int64_t j = lane; j < D; j += kRowLanes) y[r * D + j] = (x[r * D + j] * inv) * w[j];
  }
};

// Pass 0: Σ x²; pass 1: gx = Σ dy·w·x. dx = inv·dy·w − x·inv³·gx/D; inv kept for the column sum.
struct RmsBackwardRows {
  static constexpr int kPasses = 2;
  const float *x, *w, *dy;
  float *dx, *inv;
  int64_t D;
  float eps;
  __host__ __device__ Combine op(int) const { return Combine::Sum; }
  __host__ __device__ float partial(int64_t r, int lane, int pass, const float*) const {
    float s = 0;
    const float* px = x + r * D;
    if (pass == 0)
      for (int64_t j = lane; j < D; j += kRowLanes) s += px[j] * px[j];
    else
      for (int64_t j = lane; j < D; j += kRowLanes) s += dy[r * D + j] * w[j] * px[j];
    return s;
  }
  __host__ __device__ void finish(int64_t r, int lane, const float* done) const {
    const float iv = 1.0f / sqrtf(done[0] / static_cast<float>(D) + eps);
    const float k = iv * iv * iv * done[1] / static_cast<float>(D);
    for (int64_t j = lane; j < D; j += kRowLanes) dx[r * D + j] = iv * (dy[r * D + j] * w[j]) - x[r * D + j] * k;
    if (lane == 0) inv[r] = iv;
  }
};

// One column j: Σ_r dy·x·inv in double (rows can be many thousands; the sum stays exact to float).
struct RmsDweight {
  const float *x, *dy, *inv;
  float* dw;
  int64_t rows, D;
  __host__ __device__ void operator()(int64_t j) const {
    double s = 0;
    for (int64_t r = 0; r < rows; r++) s += static_cast<double>(dy[r * D + j]) * (x[r * D + j] * inv[r]);
    dw[j] = static_cast<float>(s);
  }
};

}  // namespace

void rmsNormForward(const float* x, const float* w, float* y, int64_t rows, int64_t D, float eps) {
  forEachRow(RmsForward{x, w, y, D, eps}, rows);
}

void rmsNormBackward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* invScratch, int64_t rows, int64_t D,
                     float eps) {
  forEachRow(RmsBackwardRows{x, w, dy, dx, invScratch, D, eps}, rows);
  forEachIndex(RmsDweight{x, dy, invScratch, dw, rows, D}, D);
}

}  // namespace dcf
