// Softmax and log-softmax over rows (the last axis, as tfjs's Softmax / LogSoftmax kernels): a row
// kernel with two passes (max, then Σ exp(x − max)) whose lanes then write their elements.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

struct SoftmaxRows {
  static constexpr int kPasses = 2;
  const float* x;
  float* y;
  int64_t cols;
  bool logSoftmax;
  __host__ __device__ Combine op(int pass) const { return pass == 0 ? Combine::Max : Combine::Sum; }
  __host__ __device__ float partial(int64_t r, int lane, int pass, const float* done) const {
    const float* row = x + r * cols;
    float acc = pass == 0 ? -INFINITY : 0.0f;
    for (int64_t j = lane; j < cols; j += kRowLanes) acc = pass == 0 ? fmaxf(acc, row[j]) : acc + expf(row[j] - done[0]);
    return acc;
  }
  __host__ __device__ void finish(int64_t r, int lane, const float* done) const {
    const float* row = x + r * cols;
    float* out = y + r * cols;
    const float logSum = logf(done[1]);
    for (int64_t j = lane; j < cols; j += kRowLanes) out[j] = logSoftmax ? row[j] - done[0] - logSum : expf(row[j] - done[0]) / done[1];
  }
};

}  // namespace

void softmaxRows(const float* x, float* y, int64_t rows, int64_t cols, bool logSoftmax) {
  forEachRow(SoftmaxRows{x, y, cols, logSoftmax}, rows);
}

}  // namespace dcf
