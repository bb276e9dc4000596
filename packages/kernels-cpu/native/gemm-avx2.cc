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


// MB rows of a against n columns of b stored [K,N]: 8/MB vectors of columns per pass, one FMA
// chain per element over k in order (as micro); the last < 8 columns by fmaf, in the same order.
template <int MB>
void axpyBlock(const float* a, const float* b, float* c, int64_t n, int64_t K, int64_t ldb, int64_t ldc) {
  constexpr int CV = 8 / MB;
  int64_t j = 0;
  for (; j + 8 * CV <= n; j += 8 * CV) {
    __m256 acc[MB][CV];
    for (int m = 0; m < MB; m++)
      for (int v = 0; v < CV; v++) acc[m][v] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
      const float* bk = b + k * ldb + j;
      __m256 x[MB];
      for (int m = 0; m < MB; m++) x[m] = _mm256_set1_ps(a[m * K + k]);
#pragma GCC unroll 16
      for (int v = 0; v < CV; v++) {
        const __m256 bv = _mm256_loadu_ps(bk + 8 * v);
        for (int m = 0; m < MB; m++) acc[m][v] = _mm256_fmadd_ps(x[m], bv, acc[m][v]);
      }
    }
    for (int m = 0; m < MB; m++)
      for (int v = 0; v < CV; v++) _mm256_storeu_ps(c + m * ldc + j + 8 * v, acc[m][v]);
  }
  for (; j + 8 <= n; j += 8) {
    __m256 acc[MB];
    for (int m = 0; m < MB; m++) acc[m] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
      const __m256 bv = _mm256_loadu_ps(b + k * ldb + j);
      for (int m = 0; m < MB; m++) acc[m] = _mm256_fmadd_ps(_mm256_set1_ps(a[m * K + k]), bv, acc[m]);
    }
    for (int m = 0; m < MB; m++) _mm256_storeu_ps(c + m * ldc + j, acc[m]);
  }
  if (j < n) axpyRowsScalar(a, b + j, c + j, MB, n - j, K, ldb, ldc);
}

void axpyRows(const float* a, const float* b, float* c, int64_t M, int64_t n, int64_t K, int64_t ldb, int64_t ldc) {
  int64_t m = 0;
  for (; m + 4 <= M; m += 4) axpyBlock<4>(a + m * K, b, c + m * ldc, n, K, ldb, ldc);
  if (M - m >= 2) {
    axpyBlock<2>(a + m * K, b, c + m * ldc, n, K, ldb, ldc);
    m += 2;
  }
  if (m < M) axpyBlock<1>(a + m * K, b, c + m * ldc, n, K, ldb, ldc);
}

}  // namespace

const Path* avx2Path() {
  static const Path path{"avx2", MR, NR, micro, dotRows, axpyRows};
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &path : nullptr;
}

}  // namespace dcf::gemm

#else
namespace dcf::gemm {
const Path* avx2Path() { return nullptr; }
}  // namespace dcf::gemm
#endif
