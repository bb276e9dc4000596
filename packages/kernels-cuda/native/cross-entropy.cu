// DcSoftmaxCrossEntropy over rows of logits [R,V], int32 labels [R]: loss = lse − x[label] and
// lse = log Σ exp(x − max) + max. A row kernel with two passes (max, then Σ exp(x − max)); the
// backward, (exp(x − lse) − onehot(label))·dy, is one thread per logit.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

struct CrossEntropyRows {
  static constexpr int kPasses = 2;
  const float* x;
  const int32_t* labels;
  float *loss, *lse;
  int64_t V;
  __host__ __device__ Combine op(int pass) const { return pass == 0 ? Combine::Max : Combine::Sum; }
  __host__ __device__ float partial(int64_t r, int lane, int pass, const float* done) const {
    const float* row = x + r * V;
    if (pass == 0) {
      float m = -INFINITY;
      for (int64_t j = lane; j < V; j += kRowLanes) m = fmaxf(m, row[j]);
      return m;
    }
    float s = 0;
    for (int64_t j = lane; j < V; j += kRowLanes) s += expf(row[j] - done[0]);
    return s;
  }
  __host__ __device__ void finish(int64_t r, int lane, const float* done) const {
    if (lane != 0) return;
    const float m = done[0], logSum = logf(done[1]);
    const int32_t label = labels[r];
    // an out-of-range label must not read outside the row: NaN marks it, as on the cpu backend
    loss[r] = label >= 0 && label < V ? logSum - (x[r * V + label] - m) : NAN;
    lse[r] = logSum + m;
  }
};

struct CrossEntropyBackward {
  const float* x;
  const int32_t* labels;
  const float *lse, *dy;
  float* dx;
  int64_t V;
  __host__ __device__ void operator()(int64_t i) const {
    const int64_t r = i / V, v = i % V;
    const float d = dy[r];
    dx[i] = expf(x[i] - lse[r]) * d - (labels[r] == v ? d : 0.0f);
  }
};

}  // namespace

void crossEntropyForward(const float* logits, const int32_t* labels, float* loss, float* lse, int64_t R, int64_t V) {
  forEachRow(CrossEntropyRows{logits, labels, loss, lse, V}, R);
}

void crossEntropyBackward(const float* logits, const int32_t* labels, const float* lse, const float* dy, float* dlogits, int64_t R,
                          int64_t V) {
  forEachIndex(CrossEntropyBackward{logits, labels, lse, dy, dlogits, V}, R * V);
}

}  // namespace dcf
