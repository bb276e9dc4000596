// Compact matmul, AVX-512 with VNNI (vpdpbusd): int4 decode (M ≤ 8) as exact integer dot products.
// Everything else (bf16, f16, int8, prefill, x that is not finite) goes to the avx512 path.
// Compiled with -mavx512f -mavx512bw -mavx512vnni; run only where the CPU has all three.
//
// Why: on 2 cores the float int4 decoder of qgemm-avx512.cc is bound by its instructions — ~27 vector
// instructions per 128 weights (unpack, convert, 8 FMAs), all on the two 512-bit ports — and streamed
// W at ~20 GB/s against a float32 read of 21–26 (Intel Xeon, AVX-512 + VNNI, 2 vCPUs, measured).
// Here the nibbles stay integers: 128 weights cost 3 unpack instructions, 6 vpdpbusd (64
// multiply-adds each) and 6 more per x row, ~1.5× the float decoder's rate in L2.
//
// x is held to float32's precision, not quantised. Each block of 32 x values (the weights' own block)
// becomes integers X times one power of two, X taking 23 significant bits for the block's largest |x|
// (22 when it lies within 0.4% below a power of two) — float32 has 24 — so an element moves by at
// most one float32 ulp of the block's largest value (two in a 22-bit block), the size of one rounding
// of the float path's own partial sums. X is split into three signed bytes (X = d₂·2¹⁶ + d₁·2⁸ + d₀);
// vpdpbusd multiplies the unsigned nibbles q by each digit plane and the sum over a lane's 8 weights,
// Σ X·(q − 8), is exact in int32 (|X| < 2²³,
// 8·15·2²³ < 2³¹). One conversion to float per lane and chunk, then block scale × weight scale.
#include "qgemm.h"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#include "qgemm-vnni.h"

namespace dcf::qgemm {
namespace {

using vnni::kChunk;
using vnni::kChunkBytes;

// One row of x into chunks of the layout of qgemm-vnni.h. vpdpbusd's lane L sums bytes 4L..4L+3 of a
// register, all of block L/4, so the 16 x values of one half of a block are one vector whose digits
// narrow (vpmovdb) straight into their 16 bytes. False where x has a value this cannot hold (not
// finite, or a block whose largest |x| is below 2⁻¹⁰³). Vectorised: it runs once per product and x
// row, ~3000 values per product.
bool arrangeRow(const float* x, int64_t K, uint8_t* out) {
  const int64_t KC = K / kChunk * kChunk;
  for (int64_t c = 0; c < KC; c += kChunk) {
    uint8_t* o = out + c / kChunk * kChunkBytes;
    for (int b = 0; b < 4; b++) {
      const __m512 h0 = _mm512_loadu_ps(x + c + 32 * b), h1 = _mm512_loadu_ps(x + c + 32 * b + 16);
      const __m512 d0 = _mm512_sub_ps(h0, h0), d1 = _mm512_sub_ps(h1, h1);  // NaN where x is not finite
      if (_mm512_cmp_ps_mask(d0, d1, _CMP_UNORD_Q) != 0) return false;
      const float big = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(h0), _mm512_abs_ps(h1)));
      float toInt, blockScale;
      if (!vnni::blockExponent(big, &toInt, &blockScale)) return false;
      const __m512 f = _mm512_set1_ps(toInt);  // vcvtps2dq then rounds to the nearest integer, as lrint
      const __m512i X0 = _mm512_cvtps_epi32(_mm512_mul_ps(h0, f)), X1 = _mm512_cvtps_epi32(_mm512_mul_ps(h1, f));
      for (int r = 0; r < 2; r++) {
        __m512i v = r == 0 ? X0 : X1;
        for (int d = 2; d >= 0; d--) {  // plane 0 is the most significant digit: balanced bytes
          const __m512i digit = _mm512_srai_epi32(_mm512_slli_epi32(v, 24), 24);
          v = _mm512_srai_epi32(_mm512_sub_epi32(v, digit), 8);
          _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 128 * d + 64 * r + 16 * b), _mm512_cvtepi32_epi8(digit));
        }
      }
      alignas(64) int32_t both[16];
      _mm512_store_si512(both, _mm512_add_epi32(X0, X1));
      vnni::blockLanes(o, b, both, blockScale);
    }
  }
  return true;
}

bool arrange(const Problem& p, float* xp) { return vnni::arrange(p, xp, arrangeRow); }

// Σ X·(q − 8) of one chunk for one x row (`a`: its arranged chunk), times block and weight scales.
inline __m512 chunkDot(__m512i lo, __m512i hi, const uint8_t* a, __m512 sv, __m512 tot) {
  __m512i acc = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_load_si512(a));
  acc = _mm512_dpbusd_epi32(acc, hi, _mm512_load_si512(a + 64));
  acc = _mm512_slli_epi32(acc, 8);
  acc = _mm512_dpbusd_epi32(acc, lo, _mm512_load_si512(a + 128));
  acc = _mm512_dpbusd_epi32(acc, hi, _mm512_load_si512(a + 192));
  acc = _mm512_slli_epi32(acc, 8);
  acc = _mm512_dpbusd_epi32(acc, lo, _mm512_load_si512(a + 256));
  acc = _mm512_dpbusd_epi32(acc, hi, _mm512_load_si512(a + 320));
  acc = _mm512_sub_epi32(acc, _mm512_load_si512(a + 384));
  const __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_load_ps(reinterpret_cast<const float*>(a + 448)));
  return _mm512_fmadd_ps(v, sv, tot);
}

template <int MB>
void row(const Problem& p, int64_t n, int64_t m0) {
  const int64_t K = p.K, KC = K / kChunk * kChunk;
  const uint8_t* w = p.w + n * rowBytes(kInt4, K);
  vnni::ChunkScales scales(p, n);
  const int b0 = scales.ofBlock(0), b1 = scales.ofBlock(1), b2 = scales.ofBlock(2), b3 = scales.ofBlock(3);
  const __m512i lanes = _mm512_setr_epi32(b0, b0, b0, b0, b1, b1, b1, b1, b2, b2, b2, b2, b3, b3, b3, b3);
  const __mmask16 count = static_cast<__mmask16>((1u << scales.count) - 1);
  const __m512i low4 = _mm512_set1_epi8(15);
  const uint8_t* x = reinterpret_cast<const uint8_t*>(p.xp + m0 * K);
  const int64_t xRow = 4 * K;  // bytes between arranged x rows
  __m512 tot[MB][2];
  for (int m = 0; m < MB; m++) tot[m][0] = tot[m][1] = _mm512_setzero_ps();
  // two chunks per step: each into its own total (the FMA chain's latency stays hidden)
  for (int64_t c = 0; c < KC; c += 2 * kChunk) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const int64_t at = c + h * kChunk;
      if (at >= KC) break;
      prefetchAhead(w + at / 2);
      const __m512i z = _mm512_loadu_si512(w + at / 2);
      const __m512i lo = _mm512_and_si512(z, low4), hi = _mm512_and_si512(_mm512_srli_epi16(z, 4), low4);
      const __m512 sv = _mm512_permutexvar_ps(lanes, _mm512_maskz_loadu_ps(count, scales.next()));
      const uint8_t* a = x + at / kChunk * kChunkBytes;
#pragma GCC unroll 4
      for (int m = 0; m < MB; m++) tot[m][h] = chunkDot(lo, hi, a + m * xRow, sv, tot[m][h]);
    }
  }
  for (int m = 0; m < MB; m++) vnni::finish(p, n, m0 + m, _mm512_reduce_add_ps(_mm512_add_ps(tot[m][0], tot[m][1])));
}

void rows(const Problem& p, int64_t n0, int64_t n1, float* scratch) {
  if (p.xp == nullptr || p.format != kInt4 || p.M > kFusedRows) return avx512Path()->rows(p, n0, n1, scratch);
  decodeRows(p, n0, n1, [&p](auto mb, int64_t n, int64_t m0) { row<decltype(mb)::value>(p, n, m0); });
}

}  // namespace

const Path* avx512VnniPath() {
  static const Path path{"avx512vnni", rows, arrange};
  return avx512Path() != nullptr && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni") ? &path
                                                                                                              : nullptr;
}

}  // namespace dcf::qgemm

#else
namespace dcf::qgemm {
const Path* avx512VnniPath() { return nullptr; }
}  // namespace dcf::qgemm
#endif
