// Our own single-precision GEMM (BLIS-style), shared by the per-ISA micro-kernel files and the
// driver in gemm.cc. Each ISA file is compiled with its own target flags (scripts/build-native.mjs)
// and the driver picks one at run time, so the addon runs on any CPU of its architecture.
//
// Determinism: every output element is one FMA chain over k = 0..K-1 in order, starting from 0.
// Blocking only stores and reloads the chain's partial value, and threads split M and N only, so
// the result is the same for any thread count, any block size and any of the FMA paths (AVX-512,
// AVX2, NEON and the portable one, which calls fmaf). The skinny dot-product path (decode) keeps
// 16 fixed partial sums per element with a fixed reduction tree, so it is the same on every path too.
// The skinny column path (decode against a weight stored [K,N], not transposed) streams B's rows
// and keeps the one FMA chain per element, so it equals the packed path bit for bit.
#pragma once
#include <cstdint>

namespace dcf::gemm {

// C[MR×NR] (row stride ldc) = (accumulate ? C : 0) + Σ_k Ap[k·MR + r] · Bp[k·NR + c]
using MicroKernel = void (*)(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, bool accumulate);
// c[n] = Σ_k a[k]·b[n·K + k] for n < N, as 16 lane sums (lane = k mod 16) folded 8,4,2,1
using DotRows = void (*)(const float* a, const float* b, float* c, int64_t N, int64_t K);

// c[m·ldc + j] = Σ_k a[m·K + k]·b[k·ldb + j] for m < M (≤ 8), j < n: one FMA chain per element over
// k = 0..K-1 from 0, as the micro-kernels compute it; B is read row by row, once
using AxpyRows = void (*)(const float* a, const float* b, float* c, int64_t M, int64_t n, int64_t K, int64_t ldb,
                          int64_t ldc);

void axpyRowsScalar(const float* a, const float* b, float* c, int64_t M, int64_t n, int64_t K, int64_t ldb,
                    int64_t ldc);

struct Path {
  const char* name;
  int mr, nr;
  MicroKernel micro;
  DotRows dotRows;
  AxpyRows axpyRows = axpyRowsScalar;  // NEON and portable keep the scalar one
};

// c[i] = op(a[i·strideA]) · op(b[i·strideB]) for i < batch; c is [batch, M, N] row-major, a is
// [M,K] ([K,M] when ta), b is [K,N] ([N,K] when tb); a stride of 0 broadcasts that operand.
struct Problem {
  const float* a;
  const float* b;
  float* c;
  int64_t batch, M, N, K;
  bool ta, tb;
  int64_t strideA, strideB;
};

// Runs on the calling thread plus OpenMP's pool; the result does not depend on the pool's size.
void run(const Path& path, const Problem& p);
// run() on the path the addon's `gemm` uses (gemm.cc; OpenBLAS's sgemm when that peer is selected,
// except for the skinny shapes): for native callers that must compute what the GEMM kernel computes.
void runCurrent(const Problem& p);

// Decode-shaped products (a few rows against a transposed weight), which run() streams through
// Path::dotRows instead of packing.
inline bool skinny(const Problem& p) { return p.batch == 1 && !p.ta && p.tb && p.M <= 8 && p.N * p.K >= (1 << 16); }
// The same shapes against B stored [K,N] (DCMHA's dynamic-weight projections): Path::axpyRows, no packing.
inline bool skinnyColumns(const Problem& p) {
  return p.batch == 1 && !p.ta && !p.tb && p.M <= 8 && p.N * p.K >= (1 << 16);
}

// nullptr when this build or this CPU cannot run the path
const Path* avx512Path();
const Path* avx2Path();
const Path* neonPath();
const Path* portablePath();

// The skinny path's lane arithmetic, identical in every ISA file: 16 lanes, lane l sums k ≡ l (mod 16).
inline float foldLanes(float* lanes) {
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; l++) lanes[l] += lanes[l + w];
  return lanes[0];
}

inline void dotRowsScalar(const float* a, const float* b, float* c, int64_t N, int64_t K) {
  for (int64_t n = 0; n < N; n++) {
    const float* bn = b + n * K;
    float lanes[16] = {0};
    int64_t k = 0;
    for (; k + 16 <= K; k += 16)
      for (int l = 0; l < 16; l++) lanes[l] = __builtin_fmaf(a[k + l], bn[k + l], lanes[l]);
    for (int l = 0; k + l < K; l++) lanes[l] = __builtin_fmaf(a[k + l], bn[k + l], lanes[l]);
    c[n] = foldLanes(lanes);
  }
}

}  // namespace dcf::gemm
