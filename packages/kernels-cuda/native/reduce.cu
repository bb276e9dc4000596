// Reductions of the `cuda` tfjs backend over rows: the backend transposes the reduced axes to the
// end (src/kernels/reduce.ts), so every reduction here is one per row of `cols` contiguous floats.
// Sum, mean, max, min and prod are row kernels (one block per row, the pairwise tree of
// common.cuh); argmax / argmin keep the first index of the extreme, as tfjs does, with one thread
// per row walking it in order (an index tree is future GPU work).
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

// codes of src/kernels/codes.ts (ReduceOp)
enum Reduce { kSum, kMean, kMax, kMin, kProd, kArgMax, kArgMin };

struct ReduceRows {
  static constexpr int kPasses = 1;
  int code;
  const float* x;
  float* y;
  int64_t cols;
  __host__ __device__ Combine op(int) const {
    return code == kMax ? Combine::Max : code == kMin ? Combine::Min : code == kProd ? Combine::Prod : Combine::Sum;
  }
  __host__ __device__ float partial(int64_t r, int lane, int, const float*) const {
    const float* row = x + r * cols;
    const Combine how = op(0);
    float acc = how == Combine::Max ? -INFINITY : how == Combine::Min ? INFINITY : how == Combine::Prod ? 1.0f : 0.0f;
    for (int64_t j = lane; j < cols; j += kRowLanes) acc = combine(how, acc, row[j]);
    return acc;
  }
  __host__ __device__ void finish(int64_t r, int lane, const float* done) const {
    if (lane == 0) y[r] = code == kMean ? done[0] / static_cast<float>(cols) : done[0];
  }
};

struct ArgRows {
  const float* x;
  int32_t* y;
  int64_t cols;
  bool max;
  __host__ __device__ void operator()(int64_t r) const {
    const float* row = x + r * cols;
    int64_t best = 0;
    for (int64_t j = 1; j < cols; j++)
      if (max ? row[j] > row[best] : row[j] < row[best]) best = j;
    y[r] = static_cast<int32_t>(best);
  }
};

}  // namespace

void reduceRows(int op, const float* x, void* y, int64_t rows, int64_t cols) {
  if (op == kArgMax || op == kArgMin)
    forEachIndex(ArgRows{x, static_cast<int32_t*>(y), cols, op == kArgMax}, rows);
  else
    forEachRow(ReduceRows{op, x, static_cast<float*>(y), cols}, rows);
}

}  // namespace dcf
