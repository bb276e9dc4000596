// The compact matmul's algorithm, written once over a vector type V and instantiated by each ISA
// file. V provides: R (register), W (lanes, dividing 32), zero, load, store, fma(a, b, c) = a·b + c,
// add, set1, sum (horizontal), and decoders of one 32-weight block into 32/W registers for each
// format (bf16, f16, int8, int4 — int4 already shifted by −8; no scale applied).
#pragma once
#include <algorithm>
#include "qgemm.h"

namespace dcf::qgemm {

template <class V>
struct Kernels {
  using R = typename V::R;
  static constexpr int W = V::W;
  static constexpr int NV = 32 / W;

  // bytes of one 32-weight block
  template <int F>
  static constexpr int64_t blockBytes() {
    return F <= kF16 ? 64 : F == kInt8 ? 32 : 16;
  }

  template <int F>
  static inline void decode(const uint8_t* p, R* out) {
    if constexpr (F == kBf16) V::bf16(p, out);
    if constexpr (F == kF16) V::f16(p, out);
    if constexpr (F == kInt8) V::i8(p, out);
    if constexpr (F == kInt4) V::i4(p, out);
  }

  // One 32-weight block at k of row w against MB rows of x, into chains O, O+1, … (mod C) of acc.
  template <int F, int MB, int C, int O>
  static inline void block(const uint8_t* w, const float* x, int64_t K, int64_t k, R (&acc)[MB][C]) {
    R wv[NV];
    const int64_t at = (k / 32) * blockBytes<F>();
    if constexpr (F >= kInt8) {
      if ((at & 63) == 0) prefetchAhead(w + at);  // once per line of the stream
    } else {
      prefetchAhead16(w + at);  // a block is a line
    }
    decode<F>(w + at, wv);
#pragma GCC unroll 32
    for (int v = 0; v < NV; v++)
#pragma GCC unroll 8
      for (int m = 0; m < MB; m++) acc[m][(O + v) % C] = V::fma(V::load(x + m * K + k + v * W), wv[v], acc[m][(O + v) % C]);
  }

  // Decode: rows m0..m0+MB of x against row n, dequantised in registers, into C accumulators per x
  // row (chains), summed per group. Long groups with one x row take 4 chains (two blocks per step
  // where a block fills fewer registers): with 2, one row's dot product was bound by the FMA latency
  // (~8 weights per cycle); short groups (int8/int4, G < 256) keep 2, as each group restarts its
  // chains and 4 only added reduction work (int8 in L2: 25 vs 35 G weights/s). One weight row at a
  // time on purpose: interleaving 2 or 4 rows (each x load shared) was faster in L2 but cut a
  // thread's streaming rate from memory by 35–50% (measured, Zen 5). Int formats fold each group's
  // sum times its scale into the total.
  template <int F, int MB, int C>
  static void fused(const Problem& p, int64_t n, int64_t m0) {
    constexpr bool two = C > NV;  // two blocks per step
    const int64_t K = p.K;
    const int64_t K32 = K / 32 * 32;
    const int64_t G = F >= kInt8 ? p.G : (K32 > 0 ? K32 : 32);
    const uint8_t* w = p.w + n * rowBytes(F, K);
    const float* s = F >= kInt8 ? p.scales + n * (K / p.G) : nullptr;
    const float* x = p.x + m0 * K;
    if constexpr (F >= kInt8)
      if (m0 == 0) prefetchScales(s, rowBytes(F, K), K / p.G);  // once per row (x rows inner here)
    R tot[MB];
    for (int m = 0; m < MB; m++) tot[m] = V::zero();
    for (int64_t g0 = 0; g0 < K32; g0 += G, s += F >= kInt8 ? 1 : 0) {
      const int64_t g1 = std::min(g0 + G, K32);
      R acc[MB][C];
      for (int m = 0; m < MB; m++)
        for (int c = 0; c < C; c++) acc[m][c] = V::zero();
      int64_t k = g0;
      if constexpr (two)
        for (; k + 64 <= g1; k += 64) {
          block<F, MB, C, 0>(w, x, K, k, acc);
          block<F, MB, C, NV>(w, x, K, k + 32, acc);
        }
      for (; k < g1; k += 32) block<F, MB, C, 0>(w, x, K, k, acc);
      for (int m = 0; m < MB; m++) {
        R a = acc[m][0];
        for (int c = 1; c < C; c++) a = V::add(a, acc[m][c]);
        if constexpr (F >= kInt8) {
          tot[m] = V::fma(a, V::set1(*s), tot[m]);  // s walks the row's scales (no division per group)
        } else {
          tot[m] = V::add(tot[m], a);
        }
      }
    }
    for (int m = 0; m < MB; m++) {
      float r = V::sum(tot[m]);
      for (int64_t k = K32; k < K; k++) r += x[m * K + k] * rawWeight<F>(w, k);  // 16-bit formats only
      p.y[(m0 + m) * p.N + n] = r;
    }
  }

  // Prefill: one row dequantised (scaled) into out[K].
  template <int F>
  static void dequantRow(const Problem& p, int64_t n, float* out) {
    const int64_t K = p.K, K32 = K / 32 * 32;
    const uint8_t* w = p.w + n * rowBytes(F, K);
    const float* s = F >= kInt8 ? p.scales + n * (K / p.G) : nullptr;
    for (int64_t k = 0; k < K32; k += 32) {
      R wv[NV];
      decode<F>(w + (k / 32) * blockBytes<F>(), wv);
      if constexpr (F >= kInt8) {
        const R sv = V::set1(s[k / p.G]);
        for (int v = 0; v < NV; v++) V::store(out + k + v * W, V::fma(wv[v], sv, V::zero()));
      } else {
        for (int v = 0; v < NV; v++) V::store(out + k + v * W, wv[v]);
      }
    }
    for (int64_t k = K32; k < K; k++) out[k] = rawWeight<F>(w, k);
  }

  // y[m0+m, n] = x[m0+m] · t for MB rows of x against one float32 row t.
  template <int MB>
  static void dot(const Problem& p, const float* t, int64_t n, int64_t m0) {
    const int64_t K = p.K, KW = K / (2 * W) * (2 * W);
    const float* x = p.x + m0 * K;
    R acc[MB][2];
    for (int m = 0; m < MB; m++) acc[m][0] = acc[m][1] = V::zero();
    for (int64_t k = 0; k < KW; k += 2 * W) {
      const R t0 = V::load(t + k), t1 = V::load(t + k + W);
      for (int m = 0; m < MB; m++) {
        acc[m][0] = V::fma(V::load(x + m * K + k), t0, acc[m][0]);
        acc[m][1] = V::fma(V::load(x + m * K + k + W), t1, acc[m][1]);
      }
    }
    for (int m = 0; m < MB; m++) {
      float r = V::sum(V::add(acc[m][0], acc[m][1]));
      for (int64_t k = KW; k < K; k++) r += x[m * K + k] * t[k];
      p.y[(m0 + m) * p.N + n] = r;
    }
  }

  template <int F>
  static void rowsOf(const Problem& p, int64_t n0, int64_t n1, float* scratch) {
    if (p.M <= kFusedRows) {
      const bool longGroups = F <= kF16 || p.G >= 256;
      for (int64_t n = n0; n < n1; n++) {
        int64_t m = 0;
        for (; m + 4 <= p.M; m += 4) fused<F, 4, 2>(p, n, m);
        switch (p.M - m) {
          case 3: fused<F, 3, 2>(p, n, m); break;
          case 2: fused<F, 2, 2>(p, n, m); break;
          case 1: longGroups ? fused<F, 1, 4>(p, n, m) : fused<F, 1, 2>(p, n, m); break;
          default: break;
        }
      }
      return;
    }
    for (int64_t nb = n0; nb < n1; nb += kTileRows) {
      const int64_t nn = std::min(kTileRows, n1 - nb);
      for (int64_t j = 0; j < nn; j++) dequantRow<F>(p, nb + j, scratch + j * p.K);
      int64_t m = 0;
      for (; m + 4 <= p.M; m += 4)
        for (int64_t j = 0; j < nn; j++) dot<4>(p, scratch + j * p.K, nb + j, m);
      for (; m < p.M; m++)
        for (int64_t j = 0; j < nn; j++) dot<1>(p, scratch + j * p.K, nb + j, m);
    }
  }

  static void rows(const Problem& p, int64_t n0, int64_t n1, float* scratch) {
    switch (p.format) {
      case kBf16: rowsOf<kBf16>(p, n0, n1, scratch); break;
      case kF16: rowsOf<kF16>(p, n0, n1, scratch); break;
      case kInt8: rowsOf<kInt8>(p, n0, n1, scratch); break;
      default: rowsOf<kInt4>(p, n0, n1, scratch); break;
    }
  }
};

}  // namespace dcf::qgemm
