// Compact matmul, AVX2 with AVX-VNNI (256-bit vpdpbusd; Intel cores since Alder Lake, which have no
// AVX-512): the integer int4 decode of qgemm-avx512vnni.cc (ADR 0006) at half the width, the same
// arranged x (qgemm-avx2-int4.h). Everything else goes to the avx2 path. Compiled with -mavx2 -mfma
// -mf16c -mavxvnni; run only where the CPU has AVX2, FMA, F16C and AVX-VNNI.
#include "qgemm.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__AVXVNNI__)
#include "qgemm-avx2-int4.h"

namespace dcf::qgemm {
namespace {

struct Vnni {
  static __m256i sums(__m256i lo, __m256i hi, const uint8_t* a) {
    __m256i acc = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), lo, load256(a));
    acc = _mm256_dpbusd_avx_epi32(acc, hi, load256(a + 64));
    acc = _mm256_slli_epi32(acc, 8);
    acc = _mm256_dpbusd_avx_epi32(acc, lo, load256(a + 128));
    acc = _mm256_dpbusd_avx_epi32(acc, hi, load256(a + 192));
    acc = _mm256_slli_epi32(acc, 8);
    acc = _mm256_dpbusd_avx_epi32(acc, lo, load256(a + 256));
    return _mm256_dpbusd_avx_epi32(acc, hi, load256(a + 320));
  }
};

}  // namespace

const Path* avx2VnniPath() {
  static const Path path{"avx2vnni", rows<Vnni>, arrange};
  return avx2Path() != nullptr && __builtin_cpu_supports("avxvnni") ? &path : nullptr;
}

}  // namespace dcf::qgemm

#else
namespace dcf::qgemm {
const Path* avx2VnniPath() { return nullptr; }
}  // namespace dcf::qgemm
#endif
