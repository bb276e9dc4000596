// The integer int4 decode (ADR 0006) at 256 bits, shared by the two AVX2 files that run it:
// qgemm-avx2vnni.cc (AVX-VNNI's vpdpbusd) and qgemm-avx2int.cc (plain AVX2: vpmaddubsw + vpmaddwd).
// They differ only in `Dot::sums`, the int32 sums of one half chunk; everything here is `static` or in
// an anonymous namespace, so each file compiles its own copy with its own flags. Include it only
// where __AVX2__ is defined.
#pragma once
#include <immintrin.h>
#include "qgemm-vnni.h"

namespace dcf::qgemm {
namespace {

using vnni::kChunk;
using vnni::kChunkBytes;

inline float maxAbs(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(a, mask), _mm256_and_ps(b, mask)),
                           _mm256_max_ps(_mm256_and_ps(c, mask), _mm256_and_ps(d, mask)));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

// 16 int32 digits (a: 8, then b: 8), each in −128..127, as 16 bytes in order
inline void storeDigits(uint8_t* o, __m256i a, __m256i b) {
  const __m256i p8 = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_setzero_si256());
  // dwords now: a0-3, b0-3, 0, 0 | a4-7, b4-7, 0, 0
  const __m256i ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 3, 6, 7));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm256_castsi256_si128(ordered));
}

// qgemm-avx512vnni.cc's arrangeRow, in AVX2: the same bytes.
bool arrangeRow(const float* x, int64_t K, uint8_t* out) {
  const int64_t KC = K / kChunk * kChunk;
  for (int64_t c = 0; c < KC; c += kChunk) {
    uint8_t* o = out + c / kChunk * kChunkBytes;
    for (int b = 0; b < 4; b++) {
      const float* xb = x + c + 32 * b;
      __m256 h[4];
      int bad = 0;
      for (int q = 0; q < 4; q++) {
        h[q] = _mm256_loadu_ps(xb + 8 * q);
        const __m256 d = _mm256_sub_ps(h[q], h[q]);  // NaN where x is not finite
        bad |= _mm256_movemask_ps(_mm256_cmp_ps(d, d, _CMP_UNORD_Q));
      }
      if (bad != 0) return false;
      const float big = maxAbs(h[0], h[1], h[2], h[3]);
      float toInt, blockScale;
      if (!vnni::blockExponent(big, &toInt, &blockScale)) return false;
      const __m256 f = _mm256_set1_ps(toInt);
      __m256i X[4];
      for (int q = 0; q < 4; q++) X[q] = _mm256_cvtps_epi32(_mm256_mul_ps(h[q], f));
      for (int r = 0; r < 2; r++) {  // x values 16r..16r+15 of the block: register r (0 lo, 1 hi)
        __m256i v0 = X[2 * r], v1 = X[2 * r + 1];
        for (int d = 2; d >= 0; d--) {
          const __m256i g0 = _mm256_srai_epi32(_mm256_slli_epi32(v0, 24), 24);
          const __m256i g1 = _mm256_srai_epi32(_mm256_slli_epi32(v1, 24), 24);
          v0 = _mm256_srai_epi32(_mm256_sub_epi32(v0, g0), 8);
          v1 = _mm256_srai_epi32(_mm256_sub_epi32(v1, g1), 8);
          storeDigits(o + 128 * d + 64 * r + 16 * b, g0, g1);
        }
      }
      alignas(32) int32_t both[16];
      _mm256_store_si256(reinterpret_cast<__m256i*>(both), _mm256_add_epi32(X[0], X[2]));
      _mm256_store_si256(reinterpret_cast<__m256i*>(both + 8), _mm256_add_epi32(X[1], X[3]));
      vnni::blockLanes(o, b, both, blockScale);
    }
  }
  return true;
}

bool arrange(const Problem& p, float* xp) { return vnni::arrange(p, xp, arrangeRow); }

inline __m256i load256(const uint8_t* a) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(a)); }

// One half (32 bytes of W, blocks 2h and 2h+1) of a chunk for one x row: lanes 8h..8h+7 of the
// avx512vnni version, the same sums. Dot::sums(lo, hi, a) = Σ X·q per lane (planes at a, a + 128,
// a + 256, most significant first), exact in int32.
template <class Dot>
inline __m256 halfDot(__m256i lo, __m256i hi, const uint8_t* a, __m256 sv, __m256 tot) {
  const __m256i acc = _mm256_sub_epi32(Dot::sums(lo, hi, a), load256(a + 384));
  const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_load_ps(reinterpret_cast<const float*>(a + 448)));
  return _mm256_fmadd_ps(v, sv, tot);
}

template <class Dot, int MB>
void row(const Problem& p, int64_t n, int64_t m0) {
  const int64_t K = p.K, KC = K / kChunk * kChunk;
  const uint8_t* w = p.w + n * rowBytes(kInt4, K);
  vnni::ChunkScales scales(p, n);
  // lane L of half h takes the scale of block 2h + L/4
  const int b0 = scales.ofBlock(0), b1 = scales.ofBlock(1), b2 = scales.ofBlock(2), b3 = scales.ofBlock(3);
  const __m256i idx0 = _mm256_setr_epi32(b0, b0, b0, b0, b1, b1, b1, b1);
  const __m256i idx1 = _mm256_setr_epi32(b2, b2, b2, b2, b3, b3, b3, b3);
  const __m256i load = _mm256_cmpgt_epi32(_mm256_set1_epi32(scales.count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256i low4 = _mm256_set1_epi8(15);
  const uint8_t* x = reinterpret_cast<const uint8_t*>(p.xp + m0 * K);
  const int64_t xRow = 4 * K;
  __m256 tot[MB][2];
  for (int m = 0; m < MB; m++) tot[m][0] = tot[m][1] = _mm256_setzero_ps();
  for (int64_t c = 0; c < KC; c += kChunk) {
    prefetchAhead(w + c / 2);
    const __m256i z0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c / 2));
    const __m256i z1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c / 2 + 32));
    const __m256i lo0 = _mm256_and_si256(z0, low4), hi0 = _mm256_and_si256(_mm256_srli_epi16(z0, 4), low4);
    const __m256i lo1 = _mm256_and_si256(z1, low4), hi1 = _mm256_and_si256(_mm256_srli_epi16(z1, 4), low4);
    const __m256 sc = _mm256_maskload_ps(scales.next(), load);
    const __m256 sv0 = _mm256_permutevar8x32_ps(sc, idx0), sv1 = _mm256_permutevar8x32_ps(sc, idx1);
    const uint8_t* a = x + c / kChunk * kChunkBytes;
#pragma GCC unroll 4
    for (int m = 0; m < MB; m++) {
      tot[m][0] = halfDot<Dot>(lo0, hi0, a + m * xRow, sv0, tot[m][0]);
      tot[m][1] = halfDot<Dot>(lo1, hi1, a + m * xRow + 32, sv1, tot[m][1]);
    }
  }
  for (int m = 0; m < MB; m++) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_add_ps(tot[m][0], tot[m][1]));
    const float t = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    vnni::finish(p, n, m0 + m, t);
  }
}

// int4 decode with x arranged: here; everything else: the avx2 path.
template <class Dot>
void rows(const Problem& p, int64_t n0, int64_t n1, float* scratch) {
  if (p.xp == nullptr || p.format != kInt4 || p.M > kFusedRows) return avx2Path()->rows(p, n0, n1, scratch);
  decodeRows(p, n0, n1, [&p](auto mb, int64_t n, int64_t m0) { row<Dot, decltype(mb)::value>(p, n, m0); });
}

}  // namespace
}  // namespace dcf::qgemm
