// Fused DCMHA attention (kernel DcmhaAttention of @dcformer/kernels): per (batch row, block of query
// rows) q·kᵀ for every head, pre-Compose, the causal/window/padding mask, softmax, post-Compose and
// ·v while the block is in cache. Only the output and two numbers per (b, n, t) — the row maximum
// and 1/Σexp — leave the kernel; the backward recomputes each block from them (flash-attention
// style) and produces dq, dk, dv and the gradient of every Compose weight.
//
// Layout. A block is NR query rows (NR of the GEMM micro-kernel running here: 32 on AVX-512, 16 on
// AVX2) and the keys its rows can see, [ks, ke) — for a local layer the window of the block, never
// the whole sequence. Scores are kept transposed, [head][key][query lane], so that:
//  - q·kᵀ is the micro-kernel's C with k as A (packed once per (b, n)) and qᵀ as B (packed per block);
//  - softmax over keys is a vertical reduction over NR-wide rows (full vectors, no shuffles);
//  - ·v is the micro-kernel with vᵀ as A and the probabilities themselves as B — no packing;
//  - Compose mixes heads at each (t, s) with the key-side weights as scalars and the query-side
//    weights as NR-wide vectors.
// The matrix products run on the addon's own GEMM micro-kernels (gemm.h), picked at run time like
// the GEMM's (AVX-512 / AVX2 / NEON / portable; DCFORMER_GEMM forces one). The rest of this file is
// compiled for the build's vector level, like every other kernel of the addon.
//
// Masking. Query t (absolute position p) sees key index s (absolute keyOffset + s) iff key ≤ p,
// key > p − W for a local layer, and key ≥ keyStart[b] (left padding). A row that sees no key
// (a padding query) gets output 0 and no gradient.
#include <omp.h>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "attention.h"
#include "attention-decode.h"
#include "common.h"
#include "gemm.h"
#include "vexp.h"

namespace dcf {
namespace {

const gemm::Path& attentionPath() {
  static const gemm::Path* path = [] {
    const char* forced = std::getenv("DCFORMER_GEMM");
    for (const gemm::Path* p : {gemm::avx512Path(), gemm::avx2Path(), gemm::neonPath(), gemm::portablePath()}) {
      if (p == nullptr) continue;
      // 'openblas' (a benchmark peer of the GEMM) and unset: the fastest path
      if (forced == nullptr || forced[0] == '\0' || std::strcmp(forced, "openblas") == 0 ||
          std::strcmp(forced, p->name) == 0)
        return p;
    }
    return gemm::portablePath();
  }();
  return *path;
}

constexpr int kMaxI = 4;

struct Geometry {
  int64_t B, N, T, S, E, I;
  int64_t window;  // 0: global
  int64_t qOff, kOff;
  const int32_t* keyStart;  // [B] absolute position of each row's first real key, or null
  bool qSide, kSide, composed;
  float scale;

  // visible keys [lo, hi) (indices into k) of query t in batch row b; lo ≥ hi when none
  void visible(int64_t b, int64_t t, int64_t& lo, int64_t& hi) const {
    const int64_t p = qOff + t;
    hi = std::min(S, p - kOff + 1);
    lo = window > 0 ? std::max<int64_t>(0, p - window + 1 - kOff) : 0;
    if (keyStart != nullptr) lo = std::max<int64_t>(lo, keyStart[b] - kOff);
  }
};

// The twelve Compose weight arrays: [pre, post] × [qw1, qw2, qdd, kw1, kw2, kdd], null when absent.
struct Weights {
  const float* w[2][6] = {};
};

// gradients of the weights, same layout
struct WeightGrads {
  float* w[2][6] = {};
};

// A [rows × cols] row-major matrix times alpha, packed for the micro-kernel as A: panels of MR rows,
// [panel][col][r]; rows past `rows` are zero. k (or v) of one (b, n) with rows = keys and alpha 1
// (packKeyRows), and the [key][lane] buffers that dk and dv need transposed (packLanesAsK).
void packRowPanels(const float* x, int64_t rows, int64_t cols, int MR, float alpha, float* out) {
  const int64_t panels = (rows + MR - 1) / MR;
  for (int64_t p = 0; p < panels; p++) {
    float* dst = out + p * cols * MR;
    for (int r = 0; r < MR; r++) {
      const int64_t s = p * MR + r;
      if (s < rows)
        for (int64_t c = 0; c < cols; c++) dst[c * MR + r] = alpha * x[s * cols + c];
      else
        for (int64_t c = 0; c < cols; c++) dst[c * MR + r] = 0.0f;
    }
  }
}

void packKeyRows(const float* x, int64_t S, int64_t E, int MR, float* out) { packRowPanels(x, S, E, MR, 1.0f, out); }

// k (or v) of one (b, n) packed as A with rows = head dims, k = keys: panels of MR dims,
// [panel][s][r]; dims past E are zero. A block reads keys [ks, ke) at offset ks·MR of a panel.
void packKeyCols(const float* x, int64_t S, int64_t E, int MR, float* out) {
  const int64_t panels = (E + MR - 1) / MR;
  for (int64_t p = 0; p < panels; p++) {
    float* dst = out + p * S * MR;
    for (int64_t s = 0; s < S; s++)
      for (int r = 0; r < MR; r++) {
        const int64_t e = p * MR + r;
        dst[s * MR + r] = e < E ? x[s * E + e] : 0.0f;
      }
  }
}

// rows [t0, t0 + rows) of a [T, E] matrix as B of the micro-kernel, transposed: [e][lane], times alpha
void packRowsT(const float* x, int64_t t0, int64_t rows, int64_t E, int NR, float alpha, float* out) {
  for (int64_t e = 0; e < E; e++)
    for (int c = 0; c < NR; c++) out[e * NR + c] = c < rows ? alpha * x[(t0 + c) * E + e] : 0.0f;
}

// A [MR×kc] packed from a [key][lane] buffer, rows = keys, k = lanes: the transposes that dk and dv need
void packLanesAsK(const float* buf, int64_t keys, int NR, int MR, float alpha, float* out) {
  packRowPanels(buf, keys, NR, MR, alpha, out);
}

// B [kc = lanes][E padded to NR] from rows [t0, t0 + rows) of a [T, E] matrix (dv's and dk's B)
void packRowsAsB(const float* x, int64_t t0, int64_t rows, int64_t E, int NR, float* out, int64_t panelsE) {
  for (int64_t p = 0; p < panelsE; p++)
    for (int c = 0; c < NR; c++)
      for (int j = 0; j < NR; j++) {
        const int64_t e = p * NR + j;
        out[(p * NR + c) * NR + j] = c < rows && e < E ? x[(t0 + c) * E + e] : 0.0f;
      }
}

// Per-thread scratch, grown on demand.
struct Scratch {
  std::vector<float> X, P, Q, D, packB, packA, tile, qT, qG;
  static float* grow(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }
};

// The block: batch row b, query rows [t0, t0 + rows), keys [ks, ks + keys) with ks a multiple of MR.
template <int NR>
struct Block {
  int64_t b, t0, rows, ks, keys, keysPad;
  int32_t lo[NR], hi[NR];  // visible keys per lane, block-relative; lo ≥ hi when none (int32: one mask lane per float lane)
  // lanes of key s (block-relative) that see it: [from, to)
  void lanes(int64_t s, int& from, int& to) const {
    from = NR, to = 0;
    const int32_t s32 = static_cast<int32_t>(s);
    for (int c = 0; c < NR; c++)
      if (s32 >= lo[c] && s32 < hi[c]) {
        from = std::min(from, c);
        to = c + 1;
      }
  }
};

template <int NR>
bool makeBlock(const Geometry& g, int MR, int64_t b, int64_t t0, Block<NR>& blk) {
  blk.b = b;
  blk.t0 = t0;
  blk.rows = std::min<int64_t>(NR, g.T - t0);
  int64_t first = g.S, last = 0;
  for (int c = 0; c < NR; c++) {
    int64_t lo = 0, hi = 0;
    if (c < blk.rows) g.visible(b, t0 + c, lo, hi);
    if (lo < hi) {
      first = std::min(first, lo);
      last = std::max(last, hi);
    }
    blk.lo[c] = static_cast<int32_t>(lo);
    blk.hi[c] = static_cast<int32_t>(hi);
  }
  if (first >= last) return false;
  blk.ks = first / MR * MR;
  blk.keys = last - blk.ks;
  blk.keysPad = (blk.keys + MR - 1) / MR * MR;
  for (int c = 0; c < NR; c++) {
    if (blk.lo[c] < blk.hi[c]) {
      blk.lo[c] -= static_cast<int32_t>(blk.ks);
      blk.hi[c] -= static_cast<int32_t>(blk.ks);
    } else {
      blk.lo[c] = blk.hi[c] = 0;
    }
  }
  return true;
}

// Query-side weights of one Compose call for the block's lanes, transposed to [i][n][lane] (w1, w2)
// and [n][lane] (dd); lanes past the block's rows are 0.
template <int NR>
void queryWeightsT(const Geometry& g, const float* w1, const float* w2, const float* dd, const Block<NR>& blk,
                   float* out) {
  const int64_t I = g.I, N = g.N;
  float* w1T = out;
  float* w2T = out + I * N * NR;
  float* ddT = out + 2 * I * N * NR;
  for (int64_t j = 0; j < I * N; j++)
    for (int c = 0; c < NR; c++) {
      const bool in = c < blk.rows;
      const int64_t row = (blk.b * g.T + blk.t0 + c) * I * N + j;
      w1T[j * NR + c] = in ? w1[row] : 0.0f;
      w2T[j * NR + c] = in ? w2[row] : 0.0f;
    }
  for (int64_t n = 0; n < N; n++)
    for (int c = 0; c < NR; c++) ddT[n * NR + c] = c < blk.rows ? dd[(blk.b * g.T + blk.t0 + c) * N + n] : 0.0f;
}

// The three parts of queryWeightsT's layout — w1, w2 [i][n][lane], dd [n][lane] — or nulls without it
// (also the layout of their gradients in the backward).
template <int NR, typename F>
struct QueryParts {
  F* w1;
  F* w2;
  F* dd;
  QueryParts(F* base, int64_t I, int64_t N)
      : w1(base), w2(base ? base + I * N * NR : nullptr), dd(base ? base + 2 * I * N * NR : nullptr) {}
};

// One output row m of a Compose at key s, the part the forward and the backward's dx share:
// out = v·(1 + qdd + kdd) + Σ_i lq[i]·qw[i][m] + lk[i]·kw[i][m], over the lanes. v: the row's input
// (x forward, dy backward; out may alias it); qddRow: qdd's lanes for m or null; kg: kdd[s][m] (0 without
// key side); lq/lk: the rank-I sums of each side; qw: [i][n][lane] weights or null; kw: key s's [i][n] or
// null. Always inlined: lq/lk must stay in registers, as they did when this was written out twice.
template <int NR, int HI>
__attribute__((always_inline)) inline void composeRow(const float* v, const float* qddRow, float kg,
                                                      const float (&lq)[HI][NR], const float (&lk)[HI][NR],
                                                      const float* qw, const float* kw, int64_t I, int64_t N,
                                                      int64_t m, float* out) {
  float acc[NR];
  if (qddRow) {
#pragma omp simd
    for (int c = 0; c < NR; c++) acc[c] = v[c] * (1.0f + qddRow[c] + kg);
  } else {
#pragma omp simd
    for (int c = 0; c < NR; c++) acc[c] = v[c] * (1.0f + kg);
  }
  for (int64_t i = 0; i < I; i++) {
    if (qw) {
      const float* w = qw + (i * N + m) * NR;
#pragma omp simd
      for (int c = 0; c < NR; c++) acc[c] += lq[i][c] * w[c];
    }
    if (kw) {
      const float a = kw[i * N + m];
#pragma omp simd
      for (int c = 0; c < NR; c++) acc[c] += lk[i][c] * a;
    }
  }
#pragma omp simd
  for (int c = 0; c < NR; c++) out[c] = acc[c];
}

// Compose (docs/dcmha.md) of one block, in → out (may alias), [n][key][lane] with head stride hs, over keys
// whose lanes see something. qT: queryWeightsT's layout or null; kw1/kw2/kdd: the key-side weights of
// batch row b at key ks (rows [s][i][n] and [s][n]) or null.
// KI: I as a compile-time constant (2 in every released model: the per-lane sums stay in registers), or 0
template <int NR, int KI>
void composeBlockI(const Geometry& g, const Block<NR>& blk, const float* in, float* out, int64_t hs, const float* qT,
                   const float* kw1, const float* kw2, const float* kdd) {
  const int64_t N = g.N, I = KI > 0 ? KI : g.I;
  constexpr int HI = KI > 0 ? KI : kMaxI;
  const QueryParts<NR, const float> q(qT, I, N);
  for (int64_t s = 0; s < blk.keys; s++) {
    int from, to;
    blk.lanes(s, from, to);
    if (from >= to) continue;
    float hq[HI][NR] = {}, hk[HI][NR] = {};
    const float* k1 = kw1 ? kw1 + s * I * N : nullptr;
    const float* k2 = kw2 ? kw2 + s * I * N : nullptr;
    for (int64_t n = 0; n < N; n++) {
      const float* x = in + n * hs + s * NR;
      for (int64_t i = 0; i < I; i++) {
        if (q.w1) {
          const float* w = q.w1 + (i * N + n) * NR;
#pragma omp simd
          for (int c = 0; c < NR; c++) hq[i][c] += x[c] * w[c];
        }
        if (k1) {
          const float a = k1[i * N + n];
#pragma omp simd
          for (int c = 0; c < NR; c++) hk[i][c] += x[c] * a;
        }
      }
    }
    for (int64_t m = 0; m < N; m++)
      composeRow<NR, HI>(in + m * hs + s * NR, q.dd ? q.dd + m * NR : nullptr, kdd ? kdd[s * N + m] : 0.0f, hq, hk,
                         q.w2, k2, I, N, m, out + m * hs + s * NR);
  }
}

// Backward of composeBlock: x the forward's input, dy (in place → dx). Query-side weight gradients
// accumulate into qG ([i][n][lane] ×2 and [n][lane], as qT); key-side ones into kG1/kG2 ([s][i][n])
// and kGdd ([s][n]) at the block's keys. Lanes and keys that see nothing contribute 0 because
// there x (post) or dy (pre) is 0.
template <int NR, int KI>
void composeBlockBackwardI(const Geometry& g, const Block<NR>& blk, const float* xIn, float* dy, int64_t hs,
                           const float* qT, const float* kw1, const float* kw2, const float* kdd, float* qG, float* kG1,
                           float* kG2, float* kGdd) {
  const int64_t N = g.N, I = KI > 0 ? KI : g.I;
  constexpr int HI = KI > 0 ? KI : kMaxI;
  const QueryParts<NR, const float> q(qT, I, N);
  const QueryParts<NR, float> gQ(qG, I, N);
  for (int64_t s = 0; s < blk.keys; s++) {
    int from, to;
    blk.lanes(s, from, to);
    if (from >= to) continue;
    float hq[HI][NR] = {}, hk[HI][NR] = {}, gq[HI][NR] = {}, gk[HI][NR] = {};
    const float* k1 = kw1 ? kw1 + s * I * N : nullptr;
    const float* k2 = kw2 ? kw2 + s * I * N : nullptr;
    for (int64_t n = 0; n < N; n++) {
      const float* x = xIn + n * hs + s * NR;
      const float* d = dy + n * hs + s * NR;
      for (int64_t i = 0; i < I; i++) {
        if (qT) {
          const float* w1 = q.w1 + (i * N + n) * NR;
          const float* w2 = q.w2 + (i * N + n) * NR;
#pragma omp simd
          for (int c = 0; c < NR; c++) {
            hq[i][c] += x[c] * w1[c];
            gq[i][c] += d[c] * w2[c];
          }
        }
        if (k1) {
          const float a1 = k1[i * N + n], a2 = k2[i * N + n];
#pragma omp simd
          for (int c = 0; c < NR; c++) {
            hk[i][c] += x[c] * a1;
            gk[i][c] += d[c] * a2;
          }
        }
      }
    }
    for (int64_t n = 0; n < N; n++) {
      const float* x = xIn + n * hs + s * NR;
      float* d = dy + n * hs + s * NR;
      if (qT) {
        for (int64_t i = 0; i < I; i++) {
          float* a1 = gQ.w1 + (i * N + n) * NR;
          float* a2 = gQ.w2 + (i * N + n) * NR;
#pragma omp simd
          for (int c = 0; c < NR; c++) {
            a1[c] += gq[i][c] * x[c];
            a2[c] += hq[i][c] * d[c];
          }
        }
        float* add = gQ.dd + n * NR;
#pragma omp simd
        for (int c = 0; c < NR; c++) add[c] += x[c] * d[c];
      }
      if (k1) {
        for (int64_t i = 0; i < I; i++) {
          float s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
          for (int c = 0; c < NR; c++) {
            s1 += gk[i][c] * x[c];
            s2 += hk[i][c] * d[c];
          }
          kG1[(s * I + i) * N + n] += s1;
          kG2[(s * I + i) * N + n] += s2;
        }
        float sd = 0;
#pragma omp simd reduction(+ : sd)
        for (int c = 0; c < NR; c++) sd += x[c] * d[c];
        kGdd[s * N + n] += sd;
      }
    }
    // dx: Compose's transpose, the same row shape with w1 in place of w2 and the gradient sums
    for (int64_t n = 0; n < N; n++) {
      float* d = dy + n * hs + s * NR;
      composeRow<NR, HI>(d, q.dd ? q.dd + n * NR : nullptr, kdd ? kdd[s * N + n] : 0.0f, gq, gk, q.w1, k1, I, N, n, d);
    }
  }
}

template <int NR>
void composeBlock(const Geometry& g, const Block<NR>& blk, const float* in, float* out, int64_t hs, const float* qT,
                  const float* kw1, const float* kw2, const float* kdd) {
  if (g.I == 2) composeBlockI<NR, 2>(g, blk, in, out, hs, qT, kw1, kw2, kdd);
  else composeBlockI<NR, 0>(g, blk, in, out, hs, qT, kw1, kw2, kdd);
}

template <int NR>
void composeBlockBackward(const Geometry& g, const Block<NR>& blk, const float* xIn, float* dy, int64_t hs,
                          const float* qT, const float* kw1, const float* kw2, const float* kdd, float* qG, float* kG1,
                          float* kG2, float* kGdd) {
  if (g.I == 2) composeBlockBackwardI<NR, 2>(g, blk, xIn, dy, hs, qT, kw1, kw2, kdd, qG, kG1, kG2, kGdd);
  else composeBlockBackwardI<NR, 0>(g, blk, xIn, dy, hs, qT, kw1, kw2, kdd, qG, kG1, kG2, kGdd);
}

// Softmax over keys for every lane of one head: scores in, probabilities out (may alias); 0 where not
// visible. Returns each lane's max and 1/Σexp (0 for a lane that sees nothing).
template <int NR>
void softmaxBlock(const Block<NR>& blk, const float* in, float* out, float* mOut, float* invOut) {
  float m[NR], sum[NR];
  for (int c = 0; c < NR; c++) {
    m[c] = -INFINITY;
    sum[c] = 0;
  }
  for (int64_t s = 0; s < blk.keys; s++) {
    const float* x = in + s * NR;
    const int32_t s32 = static_cast<int32_t>(s);
#pragma omp simd
    for (int c = 0; c < NR; c++) {
      const bool seen = s32 >= blk.lo[c] && s32 < blk.hi[c];
      m[c] = seen && x[c] > m[c] ? x[c] : m[c];
    }
  }
  for (int c = 0; c < NR; c++)
    if (m[c] == -INFINITY) m[c] = 0;
  for (int64_t s = 0; s < blk.keysPad; s++) {
    const float* x = in + s * NR;
    float* y = out + s * NR;
    const int32_t s32 = static_cast<int32_t>(s);
#pragma omp simd
    for (int c = 0; c < NR; c++) {
      // exp everywhere (branch-free, so it vectorises), then keep only what the lane sees
      const float e0 = vexpFlush(x[c] - m[c]);
      const float e = s32 >= blk.lo[c] && s32 < blk.hi[c] ? e0 : 0.0f;
      y[c] = e;
      sum[c] += e;
    }
  }
  float inv[NR];
  for (int c = 0; c < NR; c++) inv[c] = sum[c] > 0 ? 1.0f / sum[c] : 0.0f;
  for (int64_t s = 0; s < blk.keys; s++) {
    float* y = out + s * NR;
#pragma omp simd
    for (int c = 0; c < NR; c++) y[c] *= inv[c];
  }
  for (int c = 0; c < NR; c++) {
    mOut[c] = m[c];
    invOut[c] = inv[c];
  }
}

// probabilities from saved statistics (the backward's recompute)
template <int NR>
void probsFromStats(const Block<NR>& blk, const float* in, float* out, const float* m, const float* inv) {
  for (int64_t s = 0; s < blk.keysPad; s++) {
    const float* x = in + s * NR;
    float* y = out + s * NR;
    const int32_t s32 = static_cast<int32_t>(s);
#pragma omp simd
    for (int c = 0; c < NR; c++) {
      const float e = vexpFlush(x[c] - m[c]) * inv[c];
      y[c] = s32 >= blk.lo[c] && s32 < blk.hi[c] ? e : 0.0f;
    }
  }
}

// keys a lane does not see set to 0 in every head (post-Compose wrote values there)
template <int NR>
void zeroUnseen(const Block<NR>& blk, float* buf, int64_t N, int64_t hs) {
  for (int64_t s = 0; s < blk.keysPad; s++) {
    const int32_t s32 = static_cast<int32_t>(s);
    for (int64_t n = 0; n < N; n++) {
      float* y = buf + n * hs + s * NR;
#pragma omp simd
      for (int c = 0; c < NR; c++) y[c] = s32 >= blk.lo[c] && s32 < blk.hi[c] ? y[c] : 0.0f;
    }
  }
}

// dlogits = p·(dp − Σ_s dp·p), in place on dp; 0 where p is 0
template <int NR>
void softmaxBackwardBlock(const Block<NR>& blk, const float* p, float* d) {
  float dot[NR] = {};
  for (int64_t s = 0; s < blk.keysPad; s++) {
    const float* ps = p + s * NR;
    const float* ds = d + s * NR;
#pragma omp simd
    for (int c = 0; c < NR; c++) dot[c] += ps[c] * ds[c];
  }
  for (int64_t s = 0; s < blk.keysPad; s++) {
    const float* ps = p + s * NR;
    float* ds = d + s * NR;
#pragma omp simd
    for (int c = 0; c < NR; c++) ds[c] = ps[c] * (ds[c] - dot[c]);
  }
}

struct Packed {
  // per (b, n): k and v packed as A with rows = keys, and as A with rows = head dims
  std::vector<float> kRows, kCols, vRows, vCols;
  int64_t rowsStride = 0, colsStride = 0;
};

// C[keysPad × NR] (row stride NR) = A(keys) · B(E × NR): rows = the block's keys
void keysTimesLanes(const gemm::Path& path, const float* aRows, int64_t E, const float* packB, int64_t ks,
                    int64_t keysPad, float* C) {
  const int MR = path.mr, NR = path.nr;
  for (int64_t r = 0; r < keysPad; r += MR)
    path.micro(E, aRows + (ks + r) / MR * E * MR, packB, C + r * NR, NR, false);
}

// C[EP × NR] = A(E rows, k = keys [ks, ks + keys)) · B(keys × NR) where B is a [key][lane] buffer
void dimsTimesLanes(const gemm::Path& path, const float* aCols, int64_t S, int64_t E, const float* buf, int64_t ks,
                    int64_t keys, float* C) {
  const int MR = path.mr, NR = path.nr;
  const int64_t panels = (E + MR - 1) / MR;
  for (int64_t p = 0; p < panels; p++) path.micro(keys, aCols + p * S * MR + ks * MR, buf, C + p * MR * NR, NR, false);
}

template <int NR>
void forwardImpl(const Geometry& g, const float* q, const float* k, const float* v, const Weights& w, float* out,
                 float* stats) {
  const gemm::Path& path = attentionPath();
  const int MR = path.mr;
  const int64_t B = g.B, N = g.N, T = g.T, S = g.S, E = g.E, I = g.I;
  const int64_t rowsStride = (S + MR - 1) / MR * MR * E;
  const int64_t colsStride = (E + MR - 1) / MR * MR * S;
  std::vector<float> kRows(B * N * rowsStride), vCols(B * N * colsStride);
  // a parallel region costs a wake-up of the pool (0.3–0.5 ms with the passive wait policy): not
  // worth it for a decode step's few keys
#pragma omp parallel for schedule(static) if (B * N * S * E >= (1 << 18))
  for (int64_t bn = 0; bn < B * N; bn++) {
    packKeyRows(k + bn * S * E, S, E, MR, kRows.data() + bn * rowsStride);
    packKeyCols(v + bn * S * E, S, E, MR, vCols.data() + bn * colsStride);
  }
  const int64_t blocks = (T + NR - 1) / NR;
  const int64_t EP = (E + MR - 1) / MR * MR;
  // one block of a decode step: no pool wake-up
  const bool parallel = B * blocks > 1 && B * N * T * S * E >= (1 << 18);
#pragma omp parallel if (parallel)
  {
    Scratch sc;
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < B * blocks; task++) {
      const int64_t b = task / blocks, t0 = task % blocks * NR;
      Block<NR> blk;
      if (!makeBlock(g, MR, b, t0, blk)) {
        const int64_t rows = std::min<int64_t>(NR, T - t0);
        for (int64_t n = 0; n < N; n++) {
          std::memset(out + ((b * N + n) * T + t0) * E, 0, rows * E * sizeof(float));
          for (int64_t c = 0; c < rows; c++) {
            stats[((b * N + n) * T + t0 + c) * 2] = 0;
            stats[((b * N + n) * T + t0 + c) * 2 + 1] = 0;
          }
        }
        continue;
      }
      const int64_t hs = blk.keysPad * NR;
      float* X = Scratch::grow(sc.X, N * hs);
      float* packB = Scratch::grow(sc.packB, E * NR);
      float* O = Scratch::grow(sc.tile, EP * NR);
      for (int64_t n = 0; n < N; n++) {
        packRowsT(q + (b * N + n) * T * E, t0, blk.rows, E, NR, g.scale, packB);
        keysTimesLanes(path, kRows.data() + (b * N + n) * rowsStride, E, packB, blk.ks, blk.keysPad, X + n * hs);
      }
      for (int side = 0; side < 2; side++) {
        if (g.composed) {
          const float* const* ws = w.w[side];
          float* qT = nullptr;
          if (g.qSide) {
            qT = Scratch::grow(sc.qT, (2 * I + 1) * N * NR);
            queryWeightsT(g, ws[0], ws[1], ws[2], blk, qT);
          }
          const int64_t kb = (b * S + blk.ks);
          composeBlock(g, blk, X, X, hs, qT, g.kSide ? ws[3] + kb * I * N : nullptr,
                       g.kSide ? ws[4] + kb * I * N : nullptr, g.kSide ? ws[5] + kb * N : nullptr);
        }
        if (side == 0) {
          float m[NR], inv[NR];
          for (int64_t n = 0; n < N; n++) {
            softmaxBlock(blk, X + n * hs, X + n * hs, m, inv);
            for (int64_t c = 0; c < blk.rows; c++) {
              stats[((b * N + n) * T + t0 + c) * 2] = m[c];
              stats[((b * N + n) * T + t0 + c) * 2 + 1] = inv[c];
            }
          }
        }
      }
      // post-Compose wrote every key a lane sees; keys a lane does not see must be 0 before ·v
      if (g.composed) zeroUnseen(blk, X, N, hs);
      for (int64_t n = 0; n < N; n++) {
        dimsTimesLanes(path, vCols.data() + (b * N + n) * colsStride, S, E, X + n * hs, blk.ks, blk.keys, O);
        float* o = out + ((b * N + n) * T + t0) * E;
        for (int64_t c = 0; c < blk.rows; c++)
          for (int64_t e = 0; e < E; e++) o[c * E + e] = O[e * NR + c];
      }
    }
  }
}

// Rows of a block that see no key: no gradient reaches q or the query-side weights from them.
void zeroRowsWithoutKeys(const Geometry& g, const WeightGrads& gw, float* dq, int64_t b, int64_t t0, int64_t rows) {
  const int64_t N = g.N, T = g.T, E = g.E, I = g.I;
  for (int64_t n = 0; n < N; n++) std::memset(dq + ((b * N + n) * T + t0) * E, 0, rows * E * sizeof(float));
  if (g.composed && g.qSide)
    for (int side = 0; side < 2; side++) {
      std::memset(gw.w[side][0] + (b * T + t0) * I * N, 0, rows * I * N * sizeof(float));
      std::memset(gw.w[side][1] + (b * T + t0) * I * N, 0, rows * I * N * sizeof(float));
      std::memset(gw.w[side][2] + (b * T + t0) * N, 0, rows * N * sizeof(float));
    }
}

// The block's forward once more, from the saved statistics: scores X, pre-Compose into P,
// probabilities (in P), post-Compose into PP (= P without Compose). kw(side, j): key-side weights.
template <int NR, typename KW>
void recomputeForward(const gemm::Path& path, const Geometry& g, const Block<NR>& blk, const float* q,
                      const float* kRows, int64_t rowsStride, const float* stats, int64_t b, int64_t t0, int64_t rows,
                      float* const qT[2], KW&& kw, float* X, float* P, float* PP, float* packB) {
  const int64_t N = g.N, T = g.T, E = g.E, hs = blk.keysPad * NR;
  for (int64_t n = 0; n < N; n++) {
    packRowsT(q + (b * N + n) * T * E, t0, rows, E, NR, g.scale, packB);
    keysTimesLanes(path, kRows + n * rowsStride, E, packB, blk.ks, blk.keysPad, X + n * hs);
  }
  if (g.composed) composeBlock(g, blk, X, P, hs, qT[0], kw(0, 3), kw(0, 4), kw(0, 5));
  for (int64_t n = 0; n < N; n++) {
    float m[NR], inv[NR];
    for (int c = 0; c < NR; c++) {
      const bool in = c < rows;
      m[c] = in ? stats[((b * N + n) * T + t0 + c) * 2] : 0.0f;
      inv[c] = in ? stats[((b * N + n) * T + t0 + c) * 2 + 1] : 0.0f;
    }
    probsFromStats(blk, g.composed ? P + n * hs : X + n * hs, P + n * hs, m, inv);
  }
  if (g.composed) {
    composeBlock(g, blk, P, PP, hs, qT[1], kw(1, 3), kw(1, 4), kw(1, 5));
    zeroUnseen(blk, PP, N, hs);
  }
}

// acc [keys][E] += alpha · lanesᵀ · rows for one block and head: dv (P'ᵀ·dO) and dk (scale·dSᵀ·q).
// lanes: a [key][lane] buffer; src: the [T, E] matrix whose rows [t0, t0 + rows) the lanes are.
template <int NR>
__attribute__((always_inline)) inline void addKeyGrad(const gemm::Path& path, const Block<NR>& blk,
                                                      const float* lanes, float alpha, const float* src, int64_t t0,
                                                      int64_t rows, int64_t E, int64_t EPn, float* packA,
                                                      float* packB, float* tile, float* acc) {
  const int MR = path.mr;
  packLanesAsK(lanes, blk.keys, NR, MR, alpha, packA);
  packRowsAsB(src, t0, rows, E, NR, packB, EPn / NR);
  for (int64_t r = 0; r < blk.keysPad; r += MR)
    for (int64_t p = 0; p < EPn / NR; p++)
      path.micro(NR, packA + r * NR, packB + p * NR * NR, tile + r * EPn + p * NR, EPn, false);
  for (int64_t s = 0; s < blk.keys; s++)
    for (int64_t e = 0; e < E; e++) acc[s * E + e] += tile[s * EPn + e];
}

// The query-side weight gradients of a block's rows, from qG's [j][lane] layout to [b,t][i][n], [b,t][n].
template <int NR>
void storeQueryGrads(const Geometry& g, const WeightGrads& gw, float* const qG[2], int64_t b, int64_t t0,
                     int64_t rows) {
  const int64_t N = g.N, T = g.T, I = g.I;
  for (int side = 0; side < 2; side++) {
    const float* G = qG[side];
    float* g1 = gw.w[side][0] + (b * T + t0) * I * N;
    float* g2 = gw.w[side][1] + (b * T + t0) * I * N;
    float* gd = gw.w[side][2] + (b * T + t0) * N;
    for (int64_t c = 0; c < rows; c++) {
      for (int64_t j = 0; j < I * N; j++) {
        g1[c * I * N + j] = G[j * NR + c];
        g2[c * I * N + j] = G[(I * N + j) * NR + c];
      }
      for (int64_t n = 0; n < N; n++) gd[c * N + n] = G[(2 * I * N + n) * NR + c];
    }
  }
}

// Inside the parallel region, after every block of batch row b: the threads' key-side gradients
// (acc: per thread [dk | dv | per side kw1, kw2, kdd]) summed into b's outputs, shared among the
// region's threads (an orphaned omp for).
void reduceKeyGrads(const Geometry& g, const float* acc, int64_t accSize, int64_t kvSize, int64_t kwSide, int64_t b,
                    float* dk, float* dv, const WeightGrads& gw) {
  const int64_t S = g.S, I = g.I, N = g.N;
  const int nt = omp_get_num_threads();
#pragma omp for schedule(static)
  for (int64_t j = 0; j < accSize; j++) {
    float sum = 0;
    for (int t = 0; t < nt; t++) sum += acc[t * accSize + j];
    if (j < kvSize) {
      dk[b * kvSize + j] = sum;
    } else if (j < 2 * kvSize) {
      dv[b * kvSize + j - kvSize] = sum;
    } else {
      const int64_t r = j - 2 * kvSize;
      const int side = static_cast<int>(r / kwSide);
      const int64_t o = r % kwSide;
      if (o < S * I * N) gw.w[side][3][b * S * I * N + o] = sum;
      else if (o < 2 * S * I * N) gw.w[side][4][b * S * I * N + o - S * I * N] = sum;
      else gw.w[side][5][b * S * N + o - 2 * S * I * N] = sum;
    }
  }
}

// What every block of one batch row's backward reads: the arguments, the row's packed k and v, the sizes.
struct BackwardRow {
  const gemm::Path& path;
  const Geometry& g;
  const Weights& w;
  const WeightGrads& gw;
  const float* q;
  const float* stats;
  const float* dout;
  float* dq;
  const float* kRows;  // k as A with rows = keys (packKeyRows), per head rowsStride apart
  const float* kCols;  // k as A with rows = dims (packKeyCols), per head colsStride apart
  const float* vRows;  // v as kRows
  int64_t rowsStride, colsStride, EP, EPn;
  int64_t kwSide;  // one side's key-weight gradients in a thread's accumulator: kw1, kw2 [S][I][N], kdd [S][N]
  int64_t b;
};

// One block's backward: recompute the forward, then dO → dP' (and dv), back through post-Compose,
// softmax and pre-Compose to dS, then dq (stored) and dk; key-side gradients add into this thread's
// accK / accV / accW, the query side's are stored for the block's rows.
template <int NR>
void backwardBlock(const BackwardRow& r, const Block<NR>& blk, int64_t t0, int64_t rows, Scratch& sc, float* accK,
                   float* accV, float* accW) {
  const gemm::Path& path = r.path;
  const Geometry& g = r.g;
  const Weights& w = r.w;
  const int64_t N = g.N, T = g.T, S = g.S, E = g.E, I = g.I, b = r.b;
  const int64_t EP = r.EP, EPn = r.EPn, kwSide = r.kwSide, rowsStride = r.rowsStride, colsStride = r.colsStride;
  const float *q = r.q, *stats = r.stats, *dout = r.dout;
  float* dq = r.dq;
    const int64_t hs = blk.keysPad * NR;
    float* X = Scratch::grow(sc.X, N * hs);   // scores (pre-Compose input)
    float* P = Scratch::grow(sc.P, N * hs);   // probabilities (post-Compose input)
    float* PP = g.composed ? Scratch::grow(sc.Q, N * hs) : P;  // post-Compose output
    float* D = Scratch::grow(sc.D, N * hs);   // gradients, in place through the chain
    float* packB = Scratch::grow(sc.packB, std::max(E, EPn) * NR);
    float* packA = Scratch::grow(sc.packA, blk.keysPad * NR);
    float* tile = Scratch::grow(sc.tile, std::max(EP * NR, blk.keysPad * EPn));
    float* qT[2] = {nullptr, nullptr};
    float* qG[2] = {nullptr, nullptr};
    if (g.composed && g.qSide) {
      const int64_t qs = (2 * I + 1) * N * NR;
      float* base = Scratch::grow(sc.qT, 2 * qs);
      float* gbase = Scratch::grow(sc.qG, 2 * qs);
      std::memset(gbase, 0, 2 * qs * sizeof(float));
      for (int side = 0; side < 2; side++) {
        qT[side] = base + side * qs;
        qG[side] = gbase + side * qs;
        queryWeightsT(g, w.w[side][0], w.w[side][1], w.w[side][2], blk, qT[side]);
      }
    }
    const int64_t kb = b * S + blk.ks;
    auto kw = [&](int side, int j) -> const float* {
      if (!(g.composed && g.kSide)) return nullptr;
      return w.w[side][j] + kb * (j == 5 ? N : I * N);
    };
    auto kwG = [&](int side, int j) -> float* {
      if (!(g.composed && g.kSide)) return nullptr;
      const int64_t off = j == 0 ? 0 : j == 1 ? S * I * N : 2 * S * I * N;
      return accW + side * kwSide + off + blk.ks * (j == 2 ? N : I * N);
    };
    recomputeForward(path, g, blk, q, r.kRows, rowsStride, stats, b, t0, rows, qT, kw, X, P, PP, packB);
    // dP' = dO·vᵀ and dv += P'ᵀ·dO
    for (int64_t n = 0; n < N; n++) {
      const float* dO = dout + (b * N + n) * T * E;
      packRowsT(dO, t0, rows, E, NR, 1.0f, packB);
      keysTimesLanes(path, r.vRows + n * rowsStride, E, packB, blk.ks, blk.keysPad, D + n * hs);
      addKeyGrad(path, blk, PP + n * hs, 1.0f, dO, t0, rows, E, EPn, packA, packB, tile,
                 accV + (n * S + blk.ks) * E);
    }
    if (g.composed)
      composeBlockBackward(g, blk, P, D, hs, qT[1], kw(1, 3), kw(1, 4), kw(1, 5), qG[1], kwG(1, 0), kwG(1, 1),
                           kwG(1, 2));
    for (int64_t n = 0; n < N; n++) softmaxBackwardBlock(blk, P + n * hs, D + n * hs);
    if (g.composed)
      composeBlockBackward(g, blk, X, D, hs, qT[0], kw(0, 3), kw(0, 4), kw(0, 5), qG[0], kwG(0, 0), kwG(0, 1),
                           kwG(0, 2));
    // dq = scale·dS·k and dk += scale·dSᵀ·q
    for (int64_t n = 0; n < N; n++) {
      dimsTimesLanes(path, r.kCols + n * colsStride, S, E, D + n * hs, blk.ks, blk.keys, tile);
      float* o = dq + ((b * N + n) * T + t0) * E;
      for (int64_t c = 0; c < rows; c++)
        for (int64_t e = 0; e < E; e++) o[c * E + e] = g.scale * tile[e * NR + c];
      addKeyGrad(path, blk, D + n * hs, g.scale, q + (b * N + n) * T * E, t0, rows, E, EPn, packA, packB, tile,
                 accK + (n * S + blk.ks) * E);
    }
    if (g.composed && g.qSide) storeQueryGrads<NR>(g, r.gw, qG, b, t0, rows);
}

template <int NR>
void backwardImpl(const Geometry& g, const float* q, const float* k, const float* v, const Weights& w,
                  const float* stats, const float* dout, float* dq, float* dk, float* dv, const WeightGrads& gw) {
  const gemm::Path& path = attentionPath();
  const int MR = path.mr;
  const int64_t B = g.B, N = g.N, T = g.T, S = g.S, E = g.E, I = g.I;
  const int64_t rowsStride = (S + MR - 1) / MR * MR * E;
  const int64_t colsStride = (E + MR - 1) / MR * MR * S;
  const int64_t EP = (E + MR - 1) / MR * MR;
  const int64_t EPn = (E + NR - 1) / NR * NR;
  const int64_t blocks = (T + NR - 1) / NR;
  const int threads = omp_get_max_threads();
  // key-side gradients per thread (dk, dv [N][S][E]; per side kw1, kw2 [S][I][N] and kdd [S][N]),
  // summed after each batch row: blocks of one row share keys
  const int64_t kvSize = N * S * E;
  const int64_t kwSize = g.kSide && g.composed ? 2 * (2 * S * I * N + S * N) : 0;
  const int64_t accSize = 2 * kvSize + kwSize;
  std::vector<float> acc(static_cast<size_t>(threads) * accSize);
  std::vector<float> kRows(N * rowsStride), kCols(N * colsStride), vRows(N * rowsStride);
  const bool parallel = N * S * E >= (1 << 16);
  for (int64_t b = 0; b < B; b++) {
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t n = 0; n < N; n++) {
      packKeyRows(k + (b * N + n) * S * E, S, E, MR, kRows.data() + n * rowsStride);
      packKeyCols(k + (b * N + n) * S * E, S, E, MR, kCols.data() + n * colsStride);
      packKeyRows(v + (b * N + n) * S * E, S, E, MR, vRows.data() + n * rowsStride);
    }
#pragma omp parallel if (parallel && blocks > 1)
    {
      const int tid = omp_get_thread_num();
      float* myAcc = acc.data() + tid * accSize;
      std::memset(myAcc, 0, accSize * sizeof(float));
      float* accK = myAcc;
      float* accV = myAcc + kvSize;
      float* accW = myAcc + 2 * kvSize;  // [side][kw1 | kw2 | kdd]
      const int64_t kwSide = 2 * S * I * N + S * N;
      const BackwardRow r{path, g, w, gw, q, stats, dout, dq, kRows.data(), kCols.data(),
                          vRows.data(), rowsStride, colsStride, EP, EPn, kwSide, b};
      Scratch sc;
#pragma omp for schedule(static, 1)
      for (int64_t blockIndex = 0; blockIndex < blocks; blockIndex++) {
        const int64_t t0 = blockIndex * NR;
        Block<NR> blk;
        const int64_t rows = std::min<int64_t>(NR, T - t0);
        if (!makeBlock(g, MR, b, t0, blk)) {
          zeroRowsWithoutKeys(g, gw, dq, b, t0, rows);
          continue;
        }
        backwardBlock(r, blk, t0, rows, sc, accK, accV, accW);
      }
      // implicit barrier; then sum the threads' key-side gradients into this batch row's outputs
#pragma omp barrier
      reduceKeyGrads(g, acc.data(), accSize, kvSize, kwSide, b, dk, dv, gw);
    }
  }
}

// The Int32Array of geometry numbers:
// [B, N, T, S, E, I, window, queryOffset, keyOffset, queryWise, keyWise, composed]
bool readGeometry(Args& args, size_t paramsAt, Geometry& g, std::string& why) {
  const int32_t* p = args.i32(paramsAt);
  if (args.failed()) return false;
  g.B = p[0], g.N = p[1], g.T = p[2], g.S = p[3], g.E = p[4], g.I = p[5];
  g.window = p[6], g.qOff = p[7], g.kOff = p[8];
  g.qSide = p[9] != 0, g.kSide = p[10] != 0, g.composed = p[11] != 0;
  g.scale = 1.0f / std::sqrt(static_cast<float>(g.E));
  g.keyStart = nullptr;
  if (g.composed && (g.I < 1 || g.I > kMaxI)) {
    why = "attention: I (rank of the dynamic weights) must be 1.." + std::to_string(kMaxI) + "; got " + std::to_string(g.I);
    return false;
  }
  if (g.composed && !g.qSide && !g.kSide) g.composed = false;
  return true;
}

// weights: a JS array of 12 entries, each a Float32Array or null
bool readWeights(napi_env env, napi_value list, float* out[12], std::string& why) {
  for (uint32_t i = 0; i < 12; i++) {
    napi_value item;
    if (napi_get_element(env, list, i, &item) != napi_ok) {
      why = "attention: weights must be an array of 12 Float32Array|null";
      return false;
    }
    napi_valuetype t;
    napi_typeof(env, item, &t);
    if (t == napi_null || t == napi_undefined) {
      out[i] = nullptr;
      continue;
    }
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value buffer;
    size_t offset;
    if (napi_get_typedarray_info(env, item, &type, &length, &data, &buffer, &offset) != napi_ok ||
        type != napi_float32_array) {
      why = "attention: weight " + std::to_string(i) + " must be a Float32Array or null";
      return false;
    }
    out[i] = static_cast<float*>(data);
  }
  return true;
}

const int32_t* keyStartArg(napi_env env, napi_callback_info info, size_t at) {
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (at >= argc) return nullptr;
  napi_valuetype t;
  napi_typeof(env, argv[at], &t);
  if (t == napi_null || t == napi_undefined) return nullptr;
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, argv[at], &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_int32_array)
    return nullptr;
  return static_cast<const int32_t*>(data);
}

napi_value argAt(napi_env env, napi_callback_info info, size_t at) {
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argv[at];
}

// What both entry points read first: the geometry (params Int32Array at paramsAt) and keyStart right
// after it. False after throwing (a JS error naming the problem) or when an argument already threw.
bool readCall(napi_env env, napi_callback_info info, Args& args, size_t paramsAt, Geometry& g) {
  std::string why;
  if (args.failed() || !readGeometry(args, paramsAt, g, why)) {
    if (!why.empty()) napi_throw_error(env, nullptr, ("dcformer_cpu: " + why).c_str());
    return false;
  }
  g.keyStart = keyStartArg(env, info, paramsAt + 1);
  return true;
}

// The 12-array weight list at argument `at` as [pre, post][qw1, qw2, qdd, kw1, kw2, kdd] (weights or
// their gradients); false after throwing a TypeError naming the problem.
template <typename P>
bool readWeightSlots(napi_env env, napi_callback_info info, size_t at, P (&slots)[2][6]) {
  float* list[12];
  std::string why;
  if (!readWeights(env, argAt(env, info, at), list, why)) {
    napi_throw_type_error(env, nullptr, ("dcformer_cpu: " + why).c_str());
    return false;
  }
  for (int i = 0; i < 12; i++) slots[i / 6][i % 6] = list[i];
  return true;
}

template <typename F>
void dispatchNR(int nr, F&& f) {
  switch (nr) {
    case 32: f(std::integral_constant<int, 32>()); break;
    case 16: f(std::integral_constant<int, 16>()); break;
    case 12: f(std::integral_constant<int, 12>()); break;
    default: f(std::integral_constant<int, 8>()); break;
  }
}

}  // namespace

// attentionForward(q, k, v, weights[12], out, stats, params Int32Array, keyStart Int32Array|null)
napi_value AttentionForward(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  const float* q = args.f32(0);
  const float* k = args.f32(1);
  const float* v = args.f32(2);
  float* out = args.f32(4);
  float* stats = args.f32(5);
  Geometry g{};
  Weights w;
  if (!readCall(env, info, args, 6, g) || !readWeightSlots(env, info, 3, w.w)) return nullptr;
  if (decodeRowsSuit(g.T)) {  // a decode step: row by row (attention-decode.cc)
    DecodeCall c{g.B, g.N, g.T, g.S, g.E, g.I, g.window, g.qOff, g.kOff, g.keyStart, g.qSide, g.kSide, g.composed,
                 g.scale, {}};
    for (int i = 0; i < 12; i++) c.w[i / 6][i % 6] = w.w[i / 6][i % 6];
    attentionDecodeForward(c, q, k, v, out, stats);
    return nullptr;
  }
  dispatchNR(attentionPath().nr, [&](auto nr) { forwardImpl<decltype(nr)::value>(g, q, k, v, w, out, stats); });
  return nullptr;
}

// attentionBackward(q, k, v, weights[12], stats, dout, dq, dk, dv, weightGrads[12], params, keyStart)
napi_value AttentionBackward(napi_env env, napi_callback_info info) {
  Args args(env, info, 12);
  const float* q = args.f32(0);
  const float* k = args.f32(1);
  const float* v = args.f32(2);
  const float* stats = args.f32(4);
  const float* dout = args.f32(5);
  float* dq = args.f32(6);
  float* dk = args.f32(7);
  float* dv = args.f32(8);
  Geometry g{};
  Weights w;
  WeightGrads gw;
  if (!readCall(env, info, args, 10, g) || !readWeightSlots(env, info, 3, w.w) ||
      !readWeightSlots(env, info, 9, gw.w))
    return nullptr;
  dispatchNR(attentionPath().nr,
             [&](auto nr) { backwardImpl<decltype(nr)::value>(g, q, k, v, w, stats, dout, dq, dk, dv, gw); });
  return nullptr;
}

// attentionPath() → the micro-kernel path the attention kernels use
napi_value AttentionPathName(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_string_utf8(env, attentionPath().name, NAPI_AUTO_LENGTH, &out);
  return out;
}

}  // namespace dcf
