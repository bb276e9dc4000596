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
#include <cmath>
#include <cstring>

namespace dcf::qgemm {
namespace {

constexpr int64_t kChunk = 128;       // weights per 64-byte load: 4 blocks of 32
constexpr int64_t kChunkBytes = 512;  // arranged x per chunk: 3 digit planes × lo/hi × 64 B, corr, block scale
constexpr int32_t kMaxX = 127 * 65536 + 127 * 256 + 127;  // largest X three signed bytes hold

bool fits(int64_t G) { return G % kChunk == 0 || kChunk % G == 0; }

// One row of x into chunks of the layout above (`out`: K/128·512 bytes, then x[KC..K) in order).
// Register lo of a chunk holds in byte i the low nibble of W's byte i — weight 32·(i/16) + i%16 —
// and register hi the high nibble, weight 32·(i/16) + 16 + i%16; vpdpbusd's lane L sums bytes
// 4L..4L+3, all of block L/4. So the 16 x values of one half of a block are one vector whose digits
// narrow (vpmovdb) straight into their 16 bytes. False where x has a value this cannot hold (not
// finite, or a block whose largest |x| is below 2⁻¹⁰³, where the block scale would leave float32's
// normal range). Vectorised: it runs once per product and x row, ~3000 values per product.
bool arrangeRow(const float* x, int64_t K, uint8_t* out) {
  const int64_t KC = K / kChunk * kChunk;
  for (int64_t c = 0; c < KC; c += kChunk) {
    uint8_t* o = out + c / kChunk * kChunkBytes;
    alignas(64) int32_t corr[16];
    alignas(64) float blockScale[16];
    for (int b = 0; b < 4; b++) {
      const __m512 h0 = _mm512_loadu_ps(x + c + 32 * b), h1 = _mm512_loadu_ps(x + c + 32 * b + 16);
      const __m512 d0 = _mm512_sub_ps(h0, h0), d1 = _mm512_sub_ps(h1, h1);  // NaN where x is not finite
      if (_mm512_cmp_ps_mask(d0, d1, _CMP_UNORD_Q) != 0) return false;
      const float big = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(h0), _mm512_abs_ps(h1)));
      int E = 0;
      if (big > 0) std::frexp(big, &E);  // big < 2^E
      int bits = 23;
      if (big > 0 && std::lrint(std::ldexp(static_cast<double>(big), bits - E)) > kMaxX) bits = 22;
      if (big > 0 && E - bits < -126) return false;
      // x·2^(bits−E) is exact in float32 (a power of two, |x·2^(bits−E)| < 2^24): vcvtps2dq rounds
      // it to the nearest integer, as lrint would
      const __m512 f = _mm512_set1_ps(big > 0 ? std::ldexp(1.0f, bits - E) : 0.0f);
      const __m512i X0 = _mm512_cvtps_epi32(_mm512_mul_ps(h0, f)), X1 = _mm512_cvtps_epi32(_mm512_mul_ps(h1, f));
      for (int r = 0; r < 2; r++) {
        __m512i v = r == 0 ? X0 : X1;
        for (int d = 2; d >= 0; d--) {  // plane 0 is the most significant digit: balanced bytes
          const __m512i digit = _mm512_srai_epi32(_mm512_slli_epi32(v, 24), 24);
          v = _mm512_srai_epi32(_mm512_sub_epi32(v, digit), 8);
          _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 128 * d + 64 * r + 16 * b), _mm512_cvtepi32_epi8(digit));
        }
      }
      alignas(64) int32_t both[16];  // X of weight j%16 from both halves: lane 4b + l sums 4l..4l+3
      _mm512_store_si512(both, _mm512_add_epi32(X0, X1));
      for (int l = 0; l < 4; l++) {
        corr[4 * b + l] = 8 * (both[4 * l] + both[4 * l + 1] + both[4 * l + 2] + both[4 * l + 3]);  // Σ X·q − 8·Σ X
        blockScale[4 * b + l] = big > 0 ? std::ldexp(1.0f, E - bits) : 0.0f;
      }
    }
    std::memcpy(o + 384, corr, 64);
    std::memcpy(o + 448, blockScale, 64);
  }
  float* tail = reinterpret_cast<float*>(out) + KC;  // K tail: x in order, for the scalar loop
  for (int64_t k = KC; k < K; k++) tail[k - KC] = x[k];
  return true;
}

bool arrange(const Problem& p, float* xp) {
  if (p.format != kInt4 || p.M > kFusedRows || !fits(p.G)) return false;
  for (int64_t m = 0; m < p.M; m++)
    if (!arrangeRow(p.x + m * p.K, p.K, reinterpret_cast<uint8_t*>(xp + m * p.K))) return false;
  return true;
}

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
  const int64_t K = p.K, G = p.G, KC = K / kChunk * kChunk;
  const uint8_t* w = p.w + n * rowBytes(kInt4, K);
  const float* s = p.scales + n * (K / G);
  prefetchScales(s, rowBytes(kInt4, K), K / G);
  // lane L takes scale (L/4)·32/G of the chunk's first group (groups of 32 or 64), or the chunk's one;
  // the chunk's scales start `per` further on each chunk, or 1 every G/128 chunks
  const int per = G < kChunk ? static_cast<int>(kChunk / G) : 1;
  const int64_t chunksPerScale = G < kChunk ? 1 : G / kChunk;
  const __m512i lanes = G < kChunk ? _mm512_srli_epi32(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
                                                       static_cast<unsigned>(__builtin_ctzll(G / 32)))
                                   : _mm512_setzero_si512();
  const __mmask16 count = static_cast<__mmask16>((1u << per) - 1);
  const __m512i low4 = _mm512_set1_epi8(15);
  const uint8_t* x = reinterpret_cast<const uint8_t*>(p.xp + m0 * K);
  const int64_t xRow = 4 * K;  // bytes between arranged x rows
  __m512 tot[MB][2];
  for (int m = 0; m < MB; m++) tot[m][0] = tot[m][1] = _mm512_setzero_ps();
  int64_t left = chunksPerScale;
  // two chunks per step: each into its own total (the FMA chain's latency stays hidden)
  for (int64_t c = 0; c < KC; c += 2 * kChunk) {
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const int64_t at = c + h * kChunk;
      if (at >= KC) break;
      prefetchAhead(w + at / 2);
      const __m512i z = _mm512_loadu_si512(w + at / 2);
      const __m512i lo = _mm512_and_si512(z, low4), hi = _mm512_and_si512(_mm512_srli_epi16(z, 4), low4);
      const __m512 sv = _mm512_permutexvar_ps(lanes, _mm512_maskz_loadu_ps(count, s));
      if (--left == 0) s += per, left = chunksPerScale;
      const uint8_t* a = x + at / kChunk * kChunkBytes;
#pragma GCC unroll 4
      for (int m = 0; m < MB; m++) tot[m][h] = chunkDot(lo, hi, a + m * xRow, sv, tot[m][h]);
    }
  }
  for (int m = 0; m < MB; m++) {
    float t = _mm512_reduce_add_ps(_mm512_add_ps(tot[m][0], tot[m][1]));
    const float* tail = p.xp + (m0 + m) * K + KC;
    const float* st = p.scales + n * (K / G);
    for (int64_t k = KC; k < K; k++) t += tail[k - KC] * rawWeight<kInt4>(w, k) * st[k / G];
    p.y[(m0 + m) * p.N + n] = t;
  }
}

void rows(const Problem& p, int64_t n0, int64_t n1, float* scratch) {
  if (p.xp == nullptr || p.format != kInt4 || p.M > kFusedRows) return avx512Path()->rows(p, n0, n1, scratch);
  int64_t m = 0;
  for (; m + 4 <= p.M; m += 4)
    for (int64_t n = n0; n < n1; n++) row<4>(p, n, m);
  for (; m + 2 <= p.M; m += 2)
    for (int64_t n = n0; n < n1; n++) row<2>(p, n, m);
  for (; m < p.M; m++)
    for (int64_t n = n0; n < n1; n++) row<1>(p, n, m);
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
