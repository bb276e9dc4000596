// The tiled GEMM fallback: c[i] = op(a[i·strideA])·op(b[i·strideB]), c [batch,M,N] row-major. Each
// thread owns a kTile×kTile block of c and keeps it in registers over the whole K loop, so each a
// and b value it loads serves kTile products. The device build uses cuBLAS instead when it loads
// (cublas.cc); this path is what runs without it, and the host build checks its arithmetic.
// A shared-memory staged version (the usual next step) is future GPU work, deliberately not written
// before a GPU can time it.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

constexpr int64_t kTile = 4;

struct GemmTiles {
  const float *a, *b;
  float* c;
  int64_t M, N, K, strideA, strideB, tilesM, tilesN;
  bool transA, transB;
  __host__ __device__ void operator()(int64_t idx) const {
    const int64_t tn = idx % tilesN, tm = (idx / tilesN) % tilesM, batch = idx / (tilesN * tilesM);
    const float* A = a + batch * strideA;
    const float* Bm = b + batch * strideB;
    const int64_t m0 = tm * kTile, n0 = tn * kTile;
    float acc[kTile][kTile] = {};
    for (int64_t k = 0; k < K; k++) {
      float av[kTile], bv[kTile];
      for (int64_t r = 0; r < kTile; r++) {
        const int64_t m = m0 + r, n = n0 + r;
        av[r] = m < M ? (transA ? A[k * M + m] : A[m * K + k]) : 0.0f;
        bv[r] = n < N ? (transB ? Bm[n * K + k] : Bm[k * N + n]) : 0.0f;
      }
      for (int64_t r = 0; r < kTile; r++)
        for (int64_t q = 0; q < kTile; q++) acc[r][q] += av[r] * bv[q];
    }
    float* C = c + batch * M * N;
    for (int64_t r = 0; r < kTile && m0 + r < M; r++)
      for (int64_t q = 0; q < kTile && n0 + q < N; q++) C[(m0 + r) * N + n0 + q] = acc[r][q];
  }
};

}  // namespace

void gemmTiled(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
               int64_t strideA, int64_t strideB) {
  const int64_t tilesM = (M + kTile - 1) / kTile, tilesN = (N + kTile - 1) / kTile;
  forEachIndex(GemmTiles{a, b, c, M, N, K, strideA, strideB, tilesM, tilesN, transA, transB}, batch * tilesM * tilesN);
}

}  // namespace dcf
