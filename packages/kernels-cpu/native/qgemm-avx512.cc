// Compact matmul, AVX-512 (16 lanes): F16C-style half conversion (vcvtph2ps), bf16 by a 16-bit shift,
// int8/int4 by sign/zero extension. Compiled with -mavx512f -mf16c; run only where the CPU has AVX-512F.
#include "qgemm.h"

#if defined(__x86_64__) && defined(__AVX512F__)
#include <immintrin.h>
#include "qgemm-impl.h"

namespace dcf::qgemm {
namespace {

struct V512 {
  using R = __m512;
  static constexpr int W = 16;
  static R zero() { return _mm512_setzero_ps(); }
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R set1(float s) { return _mm512_set1_ps(s); }
  static float sum(R v) { return _mm512_reduce_add_ps(v); }
  static void bf16(const uint8_t* p, R* o) {
    for (int i = 0; i < 2; i++) {
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i));
      o[i] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
  }
  static void f16(const uint8_t* p, R* o) {
    for (int i = 0; i < 2; i++) o[i] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i)));
  }
  static void i8(const uint8_t* p, R* o) {
    for (int i = 0; i < 2; i++)
      o[i] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i))));
  }
  // Nibble → float by a 16-entry table lookup (vpermps on the zero-extended nibbles): the −8 offset
  // and the int→float conversion in one instruction instead of three (decode is bound by these).
  static void i4(const uint8_t* p, R* o) {
    const __m512 lut = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i mask = _mm_set1_epi8(15);
    const __m128i lo = _mm_and_si128(b, mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
    o[0] = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(lo), lut);
    o[1] = _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(hi), lut);
  }
};

}  // namespace

const Path* avx512Path() {
  static const Path path{"avx512", Kernels<V512>::rows};
  return __builtin_cpu_supports("avx512f") ? &path : nullptr;
}

}  // namespace dcf::qgemm

#else
namespace dcf::qgemm {
const Path* avx512Path() { return nullptr; }
}  // namespace dcf::qgemm
#endif
