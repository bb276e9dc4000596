// Compact matmul, AVX2 + FMA + F16C (8 lanes). Run only where the CPU reports all three.
#include "qgemm.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#include "qgemm-impl.h"

namespace dcf::qgemm {
namespace {

struct V256 {
  using R = __m256;
  static constexpr int W = 8;
  static R zero() { return _mm256_setzero_ps(); }
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R set1(float s) { return _mm256_set1_ps(s); }
  static float sum(R v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static __m128i load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static void bf16(const uint8_t* p, R* o) {
    for (int i = 0; i < 4; i++)
      o[i] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p + 16 * i)), 16));
  }
  static void f16(const uint8_t* p, R* o) {
    for (int i = 0; i < 4; i++) o[i] = _mm256_cvtph_ps(load128(p + 16 * i));
  }
  static void i8(const uint8_t* p, R* o) {
    for (int i = 0; i < 4; i++)
      o[i] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8 * i))));
  }
  static R nib(__m256i u) { return _mm256_cvtepi32_ps(_mm256_sub_epi32(u, _mm256_set1_epi32(8))); }
  // Bytes widened to dwords straight from memory (8 at a time); each dword's low nibble by a mask,
  // its high nibble by a shift alone (the byte is zero-extended): 14 instructions per 32 weights
  // instead of 17 (masking and splitting the 16 bytes first).
  static void i4(const uint8_t* p, R* o) {
    const __m256i b0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    const __m256i b1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8)));
    const __m256i mask = _mm256_set1_epi32(15);
    o[0] = nib(_mm256_and_si256(b0, mask));
    o[1] = nib(_mm256_and_si256(b1, mask));
    o[2] = nib(_mm256_srli_epi32(b0, 4));
    o[3] = nib(_mm256_srli_epi32(b1, 4));
  }
};

}  // namespace

const Path* avx2Path() {
  static const Path path{"avx2", Kernels<V256>::rows};
  const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return ok ? &path : nullptr;
}

}  // namespace dcf::qgemm

#else
namespace dcf::qgemm {
const Path* avx2Path() { return nullptr; }
}  // namespace dcf::qgemm
#endif
