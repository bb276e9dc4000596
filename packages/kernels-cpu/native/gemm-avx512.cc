// AVX-512 micro-kernel: a 12×32 tile of C in 24 zmm accumulators (2 B vectors + 1 broadcast
// leave 5 registers free). Compiled with -mavx512f -mfma; run only where the CPU reports AVX-512F.
#include "gemm.h"

#if defined(__x86_64__) && defined(__AVX512F__)
#include <immintrin.h>

namespace dcf::gemm {
namespace {

constexpr int MR = 12, NR = 32;

void micro(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, bool accumulate) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++) {
    c0[r] = accumulate ? _mm512_loadu_ps(C + r * ldc) : _mm512_setzero_ps();
    c1[r] = accumulate ? _mm512_loadu_ps(C + r * ldc + 16) : _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < kc; k++, Ap += MR, Bp += NR) {
    const __m512 b0 = _mm512_loadu_ps(Bp), b1 = _mm512_loadu_ps(Bp + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      const __m512 a = _mm512_set1_ps(Ap[r]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++) {
    _mm512_storeu_ps(C + r * ldc, c0[r]);
    _mm512_storeu_ps(C + r * ldc + 16, c1[r]);
  }
}

void dotRows(const float* a, const float* b, float* c, int64_t N, int64_t K) {
  const int64_t K16 = K / 16 * 16;
  for (int64_t n = 0; n < N; n++) {
    const float* bn = b + n * K;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(bn + k), acc);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, acc);
    for (int l = 0; K16 + l < K; l++) lanes[l] = __builtin_fmaf(a[K16 + l], bn[K16 + l], lanes[l]);
    c[n] = foldLanes(lanes);
  }
}


// MB rows of a against n columns of b stored [K,N]: 16/MB vectors of columns per pass, one FMA
// chain per element over k in order (as micro); the last < 16 columns by fmaf, in the same order.
template <int MB>
void axpyBlock(const float* a, const float* b, float* c, int64_t n, int64_t K, int64_t ldb, int64_t ldc) {
  constexpr int CV = 16 / MB;
  int64_t j = 0;
  for (; j + 16 * CV <= n; j += 16 * CV) {
    __m512 acc[MB][CV];
    for (int m = 0; m < MB; m++)
      for (int v = 0; v < CV; v++) acc[m][v] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
      const float* bk = b + k * ldb + j;
      __m512 x[MB];
      for (int m = 0; m < MB; m++) x[m] = _mm512_set1_ps(a[m * K + k]);
#pragma GCC unroll 16
      for (int v = 0; v < CV; v++) {
        const __m512 bv = _mm512_loadu_ps(bk + 16 * v);
        for (int m = 0; m < MB; m++) acc[m][v] = _mm512_fmadd_ps(x[m], bv, acc[m][v]);
      }
    }
    for (int m = 0; m < MB; m++)
      for (int v = 0; v < CV; v++) _mm512_storeu_ps(c + m * ldc + j + 16 * v, acc[m][v]);
  }
  for (; j + 16 <= n; j += 16) {
    __m512 acc[MB];
    for (int m = 0; m < MB; m++) acc[m] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
      const __m512 bv = _mm512_loadu_ps(b + k * ldb + j);
      for (int m = 0; m < MB; m++) acc[m] = _mm512_fmadd_ps(_mm512_set1_ps(a[m * K + k]), bv, acc[m]);
    }
    for (int m = 0; m < MB; m++) _mm512_storeu_ps(c + m * ldc + j, acc[m]);
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

const Path* avx512Path() {
  static const Path path{"avx512", MR, NR, micro, dotRows, axpyRows};
  return __builtin_cpu_supports("avx512f") ? &path : nullptr;
}

}  // namespace dcf::gemm

#else
namespace dcf::gemm {
const Path* avx512Path() { return nullptr; }
}  // namespace dcf::gemm
#endif
