// What every kernel file shares: the two launch shapes (one thread per index; one block per row with
// a tree reduction) written once for the GPU and once for the host build, so that each kernel file
// only writes its per-thread / per-lane body as a __host__ __device__ functor.
//
// The host build runs the very same bodies over the very same indices; for the row shape it runs the
// lanes of a block one after another and reduces their partials in the same pairwise order as the
// GPU's shared-memory tree, so sums come out identical bar FMA contraction. What the host build
// cannot check is marked UNTESTED-BEFORE-GPU: the __global__ wrappers, __shared__ buffers and
// __syncthreads placement.
#pragma once
#include <cmath>
#include <cstdint>
#ifndef __CUDACC__
#include "compat.h"
#endif

namespace dcf {

// Threads per block in the one-thread-per-index shape.
constexpr int kThreads = 256;
// Lanes (threads of one block) that share one row in the row shape; a power of two for the tree.
constexpr int kRowLanes = 256;
// The GPU grid's x dimension is capped; grid-stride loops cover anything past it.
constexpr int64_t kMaxBlocks = 65535;

#ifdef __CUDACC__
template <class F>
__global__ void eachIndexKernel(F f, int64_t n) {
  // UNTESTED-BEFORE-GPU (launch shape only; f is host-tested)
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) f(i);
}
#endif

/** f(i) for i in [0, n): one GPU thread per index, or an OpenMP loop in the host build. */
template <class F>
void forEachIndex(const F& f, int64_t n) {
  if (n <= 0) return;
#ifdef __CUDACC__
  int64_t blocks = (n + kThreads - 1) / kThreads;
  eachIndexKernel<<<static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks), kThreads>>>(f, n);
#else
#pragma omp parallel for schedule(static) if (n > 4096)
  for (int64_t i = 0; i < n; i++) f(i);
#endif
}

/** How one reduction pass combines lane partials. */
enum class Combine { Sum, Max, Min, Prod };

__host__ __device__ inline float combine(Combine op, float a, float b) {
  // Max and Min let a NaN through, as the cpu backend's reductions do (fmaxf would drop it)
  if (op == Combine::Max) return a > b || a != a ? a : b;
  if (op == Combine::Min) return a < b || a != a ? a : b;
  return op == Combine::Prod ? a * b : a + b;
}

/**
 * One level of the pairwise tree over buf[0..2h): lane j < h folds buf[j + h] into buf[j]. The GPU
 * runs the lanes of a level in parallel with a __syncthreads between levels; the host runs them in
 * order. Either way the final buf[0] is the same sum of the same pairs.
 */
__host__ __device__ inline void treeLevel(float* buf, int lane, int h, Combine op) {
  if (lane < h) buf[lane] = combine(op, buf[lane], buf[lane + h]);
}

/**
 * A row kernel K has up to two reduction passes over its row (e.g. max, then Σ exp(x − max)):
 *   static constexpr int kPasses;            1 or 2
 *   Combine op(int pass) const;
 *   float partial(int64_t row, int lane, int pass, const float* done) const;   done[p] = result of pass p < pass
 *   void finish(int64_t row, int lane, const float* done) const;               writes the row's outputs
 * Lane `lane` of kRowLanes handles the row's elements j ≡ lane (mod kRowLanes).
 */
#ifdef __CUDACC__
template <class K>
__global__ void rowKernel(K k, int64_t rows) {
  // UNTESTED-BEFORE-GPU: the shared buffer and barrier placement (the arithmetic is host-tested)
  __shared__ float buf[kRowLanes];
  __shared__ float done[2];
  const int lane = threadIdx.x;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    for (int pass = 0; pass < K::kPasses; pass++) {
      buf[lane] = k.partial(row, lane, pass, done);
      __syncthreads();
      for (int h = kRowLanes / 2; h > 0; h >>= 1) {
        treeLevel(buf, lane, h, k.op(pass));
        __syncthreads();
      }
      if (lane == 0) done[pass] = buf[0];
      __syncthreads();
    }
    k.finish(row, lane, done);
    __syncthreads();  // done[] is rewritten by the next row of this block
  }
}
#endif

template <class K>
void forEachRow(const K& k, int64_t rows) {
  if (rows <= 0) return;
#ifdef __CUDACC__
  rowKernel<<<static_cast<unsigned>(rows < kMaxBlocks ? rows : kMaxBlocks), kRowLanes>>>(k, rows);
#else
#pragma omp parallel for schedule(static) if (rows > 1)
  for (int64_t row = 0; row < rows; row++) {
    float buf[kRowLanes];
    float done[2] = {0, 0};
    for (int pass = 0; pass < K::kPasses; pass++) {
      for (int lane = 0; lane < kRowLanes; lane++) buf[lane] = k.partial(row, lane, pass, done);
      for (int h = kRowLanes / 2; h > 0; h >>= 1)
        for (int lane = 0; lane < h; lane++) treeLevel(buf, lane, h, k.op(pass));
      done[pass] = buf[0];
    }
    for (int lane = 0; lane < kRowLanes; lane++) k.finish(row, lane, done);
  }
#endif
}

}  // namespace dcf
