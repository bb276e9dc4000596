// Compact matmul, plain AVX2 (no VNNI: AMD Zen 1–3, Intel Haswell to Comet Lake): the integer int4
// decode of ADR 0006 with vpmaddubsw + vpmaddwd in place of vpdpbusd, the same arranged x
// (qgemm-avx2-int4.h). Everything else goes to the avx2 path. Compiled with -mavx2 -mfma -mf16c.
//
// Why: the float int4 decoder of qgemm-avx2.cc spends 18 instructions per 32 weights (widen, mask,
// shift, subtract 8, convert, FMA) and streamed W at ~17 GB/s on 2 cores against a float32 read of
// ~33 (AMD EPYC Zen 4, the avx2 path forced, measured). Here 64 weights cost ~19: per digit plane
// two vpmaddubsw (nibble × signed digit, pairs summed into 16 bits) and one vpaddw, then per
// half chunk three vpmaddwd that widen the planes to int32 and weigh the most significant by 2⁸.
//
// No saturation or overflow: a vpmaddubsw word is q₀·d₀ + q₁·d₁ with q ≤ 15 and |d| ≤ 128, at most
// 3840 in magnitude, and the low- and high-nibble words together at most 7680 < 2¹⁵; a lane's int32
// sum is Σ X·q over 8 weights with |X| < 2²³, below 2³⁰ (as for vpdpbusd).
#include "qgemm.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include "qgemm-avx2-int4.h"

namespace dcf::qgemm {
namespace {

struct Madd {
  // digit plane at a (lo) and a + 64 (hi): Σ q·d per pair of bytes, 16-bit
  static __m256i plane(__m256i lo, __m256i hi, const uint8_t* a) {
    return _mm256_add_epi16(_mm256_maddubs_epi16(lo, load256(a)), _mm256_maddubs_epi16(hi, load256(a + 64)));
  }
  static __m256i sums(__m256i lo, __m256i hi, const uint8_t* a) {
    const __m256i one = _mm256_set1_epi16(1), shift8 = _mm256_set1_epi16(256);
    const __m256i top = _mm256_add_epi32(_mm256_madd_epi16(plane(lo, hi, a), shift8),
                                         _mm256_madd_epi16(plane(lo, hi, a + 128), one));  // d₂·2⁸ + d₁
    return _mm256_add_epi32(_mm256_slli_epi32(top, 8), _mm256_madd_epi16(plane(lo, hi, a + 256), one));
  }
};

}  // namespace

const Path* avx2IntPath() {
  static const Path path{"avx2int", rows<Madd>, arrange};
  return avx2Path() != nullptr ? &path : nullptr;
}

}  // namespace dcf::qgemm

#else
namespace dcf::qgemm {
const Path* avx2IntPath() { return nullptr; }
}  // namespace dcf::qgemm
#endif
