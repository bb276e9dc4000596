// AVX2+FMA micro-kernel: a 6×16 tile of C in 12 ymm accumulators (the classic Haswell shape:
// 2 B vectors + 1 broadcast use 15 of 16 registers). Compiled with -mavx2 -mfma; run only where the
// CPU reports both.
#include "gemm.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

namespace dcf::gemm {
namespace {

constexpr int MR = 6, NR = 16;

void micro(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, bool accumulate) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) {
    c0[r] = accumulate ? _mm256_loadu_ps(C + r * ldc) : _mm256_setzero_ps();
    c1[r] = accumulate ? _mm256_loadu_ps(C + r * ldc + 8) : _mm256_setzero_ps();
  }
  for (int64_t k = 0; k < kc; k++, Ap += MR, Bp += NR) {
    const __m256 b0 = _mm256_loadu_ps(Bp), b1 = _mm256_loadu_ps(Bp + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      const __m256 a = _mm256_broadcast_ss(Ap + r);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) {
    _mm256_storeu_ps(C + r * ldc, c0[r]);
    _mm256_storeu_ps(C + r * ldc + 8, c1[r]);
  }
}

// lanes 0–7 in acc0, 8–15 in acc1: the same 16 partial sums as every other path
void dotRows(const float* a, const float* b, float* c, int64_t N, int64_t K) {
  const int64_t K16 = K / 16 * 16;
  for (int64_t n = 0; n < N; n++) {
    const float* bn = b + n * K;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) {
      acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(bn + k), acc0);
      acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(bn + k + 8), acc1);
    }
    alignas(32) float lanes[16];
    _mm256_store_ps(lanes, acc0);
    _mm256_store_ps(lanes + 8, acc1);
    for (int l = 0; K16 + l < K; l++) lanes[l] = __builtin_fmaf(a[K16 + l], bn[K16 + l], lanes[l]);
    c[n] = foldLanes(lanes);
  }
}

}  // namespace

const Path* avx2Path() {
  static const Path path{"avx2", MR, NR, micro, dotRows};
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &path : nullptr;
}

}  // namespace dcf::gemm

#else
namespace dcf::gemm {
const Path* avx2Path() { return nullptr; }
}  // namespace dcf::gemm
#endif
