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

// int4 decode from whole 64-byte loads (issue 18: int4 decode was bound by its instructions, not by
// memory). The block decoder above widens 16 bytes at a time (vpmovzxbd) and masks each half before
// the lookup; here one load holds 4 blocks (128 weights), and register q (0..7) takes nibble q of
// every dword (decode below): ~20 instructions per 128 weights instead of 28. Register q, lane D
// then holds weight
//   32·(D/4) + 16·(q%2) + 4·(D%4) + q/2     (nibble q of dword D%4 of block D/4),
// so x is rearranged once per call (arrange) into that order. Lanes 4b..4b+3 hold block b only, so
// groups of 32 or 64 get their scales lane by lane. A K tail shorter than 128 keeps the block decoder
// (x stays in order there); group sizes that neither divide 128 nor are multiples of it do too.
struct Nibbles {
  static constexpr int64_t kWeights = kInt4Chunk;
  static int64_t weightAt(int q, int D) { return 32 * (D / 4) + 16 * (q % 2) + 4 * (D % 4) + q / 2; }

  // Register q of a chunk. Even q: the nibble's 16-entry lookup (vpermps reads an index's low 4
  // bits, so one shift selects the nibble). Odd q: no shuffle — the nibble moved to the top of the
  // dword, its top bit flipped beforehand (zs = z ^ 0x8888…, so nibble − 8 is the signed 4-bit
  // value), arithmetic shift down and convert. Half and half balances the shuffle unit against the
  // integer and convert units: all-lookup decoding (one shuffle per 16 weights) was bound by the
  // shuffle unit. The chunk is one 64-byte load wherever it lies: the weights' buffers are usually
  // 16-byte aligned only, and this ran within 5% of aligned data, while putting four 16-byte loads
  // together (three more shuffles) cost a thread ~15–25% of its streaming rate (Zen 5, measured).
  static inline void decode(const uint8_t* p, __m512* o) {
    const __m512i z = _mm512_loadu_si512(p);
    const __m512i zs = _mm512_xor_si512(z, _mm512_set1_epi32(static_cast<int>(0x88888888u)));
    const __m512 lut = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) {
      if (q % 2 == 0) {
        o[q] = _mm512_permutexvar_ps(q == 0 ? z : _mm512_srli_epi32(z, 4 * q), lut);
      } else {
        const __m512i t = q == 7 ? zs : _mm512_slli_epi32(zs, 28 - 4 * q);
        o[q] = _mm512_cvtepi32_ps(_mm512_srai_epi32(t, 28));
      }
    }
  }

  // x rows m0..m0+MB against chunks [c0, c1) of row w, summed unscaled into acc: four chains per x
  // row, two FMAs deep per chunk
  template <int MB>
  static inline void chunks(const uint8_t* w, const float* x, int64_t K, int64_t c0, int64_t c1,
                            __m512 (&acc)[MB][4]) {
    for (int m = 0; m < MB; m++) acc[m][0] = acc[m][1] = acc[m][2] = acc[m][3] = _mm512_setzero_ps();
    for (int64_t c = c0; c < c1; c += kWeights) {
      __m512 wv[8];
      prefetchAhead(w + c / 2);  // one 64-byte chunk = one line (whole lines when W is 64-byte aligned)
      decode(w + c / 2, wv);
#pragma GCC unroll 4
      for (int m = 0; m < MB; m++)
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++)
          acc[m][q % 4] = _mm512_fmadd_ps(_mm512_load_ps(x + m * K + c + 16 * q), wv[q], acc[m][q % 4]);
    }
  }

  static inline __m512 sum(const __m512 (&a)[4]) {
    return _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3]));
  }

  template <int MB>
  static void row(const Problem& p, int64_t n, int64_t m0) {
    const int64_t K = p.K, G = p.G, KC = K / kWeights * kWeights;
    const uint8_t* w = p.w + n * rowBytes(kInt4, K);
    const float* s = p.scales + n * (K / G);
    const float* x = p.xp + m0 * K;
    prefetchScales(s, rowBytes(kInt4, K), K / G);  // every pass over W (x rows outer here)
    __m512 tot[MB], acc[MB][4];
    for (int m = 0; m < MB; m++) tot[m] = _mm512_setzero_ps();
    if (G % kWeights == 0) {
      // a group is whole chunks: summed unscaled, then one FMA by its scale
      for (int64_t g0 = 0; g0 < KC; g0 += G) {
        chunks<MB>(w, x, K, g0, g0 + G, acc);
        const __m512 sv = _mm512_set1_ps(*s++);
        for (int m = 0; m < MB; m++) tot[m] = _mm512_fmadd_ps(sum(acc[m]), sv, tot[m]);
      }
    } else {
      // 128 / G groups per chunk: lane D takes the scale of group (D/4)·32/G of the chunk
      const int64_t per = kWeights / G;
      const __m512i lanes = _mm512_srli_epi32(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                              static_cast<unsigned>(__builtin_ctzll(G / 32)));
      const __mmask16 count = static_cast<__mmask16>((1u << per) - 1);
      for (int64_t c = 0; c < KC; c += kWeights, s += per) {
        chunks<MB>(w, x, K, c, c + kWeights, acc);
        const __m512 sv = _mm512_permutexvar_ps(lanes, _mm512_maskz_loadu_ps(count, s));
        for (int m = 0; m < MB; m++) tot[m] = _mm512_fmadd_ps(sum(acc[m]), sv, tot[m]);
      }
    }
    s = p.scales + n * (K / G);
    for (int m = 0; m < MB; m++) {
      float t = _mm512_reduce_add_ps(tot[m]);
      for (int64_t k = KC; k < K; k += 32) {  // K tail: whole 32-weight blocks, x in order
        __m512 b[2];
        V512::i4(w + k / 2, b);
        const __m512 part = _mm512_fmadd_ps(_mm512_loadu_ps(x + m * K + k + 16), b[1],
                                            _mm512_mul_ps(_mm512_loadu_ps(x + m * K + k), b[0]));
        t += _mm512_reduce_add_ps(part) * s[k / G];
      }
      p.y[(m0 + m) * p.N + n] = t;
    }
  }

  static void rows(const Problem& p, int64_t n0, int64_t n1) {
    decodeRows(p, n0, n1, [&p](auto mb, int64_t n, int64_t m0) { row<decltype(mb)::value>(p, n, m0); });
  }

  static bool arrange(const Problem& p, float* xp) {
    if (p.format != kInt4 || !groupsFitChunks(p.G)) return false;
    const int64_t K = p.K, KC = K / kWeights * kWeights;
    int32_t at[kWeights];
    for (int q = 0; q < 8; q++)
      for (int D = 0; D < 16; D++) at[16 * q + D] = static_cast<int32_t>(weightAt(q, D));
    for (int64_t m = 0; m < p.M; m++) {
      const float* x = p.x + m * K;
      float* o = xp + m * K;
      for (int64_t c = 0; c < KC; c += kWeights)
        for (int j = 0; j < kWeights; j++) o[c + j] = x[c + at[j]];
      for (int64_t k = KC; k < K; k++) o[k] = x[k];
    }
    return true;
  }
};

void rows512(const Problem& p, int64_t n0, int64_t n1, float* scratch) {
  if (p.xp != nullptr && p.M <= kFusedRows && p.format == kInt4) return Nibbles::rows(p, n0, n1);
  Kernels<V512>::rows(p, n0, n1, scratch);
}

}  // namespace

const Path* avx512Path() {
  static const Path path{"avx512", rows512, Nibbles::arrange};
  return __builtin_cpu_supports("avx512f") ? &path : nullptr;
}

}  // namespace dcf::qgemm

#else
namespace dcf::qgemm {
const Path* avx512Path() { return nullptr; }
}  // namespace dcf::qgemm
#endif
