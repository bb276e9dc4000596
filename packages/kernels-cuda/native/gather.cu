// GatherV2 (batchDims 0) and UnsortedSegmentSum, GatherV2's gradient (the embedding's backward).
// The segment sum gives each thread one column k and walks the rows in order, adding into its
// column of the row's segment: no two threads touch the same output, so no atomics and the sum's
// order is the cpu backend's (row 0 first).
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

template <class T>
struct Gather {
  const T* x;
  const int32_t* idx;
  T* out;
  int64_t N, nIdx, inner;
  __host__ __device__ void operator()(int64_t i) const {
    const int64_t k = i % inner, j = (i / inner) % nIdx, o = i / (inner * nIdx);
    const int32_t n = idx[j];
    out[i] = n >= 0 && n < N ? x[(o * N + n) * inner + k] : T(0);
  }
};

struct SegmentSum {
  const float* x;
  const int32_t* ids;
  float* out;
  int64_t n, inner, segments;
  __host__ __device__ void operator()(int64_t k) const {
    for (int64_t s = 0; s < segments; s++) out[s * inner + k] = 0.0f;
    for (int64_t i = 0; i < n; i++) {
      const int32_t s = ids[i];
      if (s >= 0 && s < segments) out[s * inner + k] += x[i * inner + k];
    }
  }
};

}  // namespace

void gather(int elemBytes, const void* x, const int32_t* idx, void* out, int64_t outer, int64_t N, int64_t nIdx, int64_t inner) {
  const int64_t total = outer * nIdx * inner;
  if (elemBytes == 4)
    forEachIndex(Gather<uint32_t>{static_cast<const uint32_t*>(x), idx, static_cast<uint32_t*>(out), N, nIdx, inner}, total);
  else
    forEachIndex(Gather<uint8_t>{static_cast<const uint8_t*>(x), idx, static_cast<uint8_t*>(out), N, nIdx, inner}, total);
}

void unsortedSegmentSum(const float* x, const int32_t* ids, float* out, int64_t n, int64_t inner, int64_t segments) {
  forEachIndex(SegmentSum{x, ids, out, n, inner, segments}, inner);
}

}  // namespace dcf
