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

}  // namespace

const Path* avx512Path() {
  static const Path path{"avx512", MR, NR, micro, dotRows};
  return __builtin_cpu_supports("avx512f") ? &path : nullptr;
}

}  // namespace dcf::gemm

#else
namespace dcf::gemm {
const Path* avx512Path() { return nullptr; }
}  // namespace dcf::gemm
#endif
