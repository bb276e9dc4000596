// DcmhaCompose (docs/dcmha.md "Compose") and its backward, never building the per-(t,s) N×N matrix.
// Layouts: x, dy, out [B,N,T,S]; qw1, qw2 [B,T,I,N]; qdd [B,T,N]; kw1, kw2 [B,S,I,N]; kdd [B,S,N].
//
// Forward, one thread per (b,t,s):  h_i = Σ_n w1[i,n]·x_n (per side), then
//   out_m = x_m·(1 + qdd_m + kdd_m) + Σ_i qw2[i,m]·hq_i + kw2[i,m]·hk_i.
// Backward, with g_i = Σ_m w2[i,m]·dy_m:
//   dx_n  = dy_n·(1 + qdd_n + kdd_n) + Σ_i qw1[i,n]·gq_i + kw1[i,n]·gk_i        one thread per (b,t,s)
//   dqw1[b,t,i,n] = Σ_s gq_i·x_n,  dqw2[b,t,i,m] = Σ_s hq_i·dy_m                 one thread per (b,t,i)
//   dkw1[b,s,i,n] = Σ_t gk_i·x_n,  dkw2[b,s,i,m] = Σ_t hk_i·dy_m                 one thread per (b,s,i)
//   dqdd[b,t,n] = Σ_s x_n·dy_n,  dkdd[b,s,n] = Σ_t x_n·dy_n                      one thread per output
// Each weight gradient is owned by one thread that sums in a fixed order: no atomics, deterministic,
// and every body runs unchanged in the host build. First version: plain global-memory reads with
// per-thread register arrays (N ≤ 64, I ≤ 16); a shared-memory tiling is future GPU work.
// Out-of-band positions (the band hint) are written as 0 and left out of every sum.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

struct Layout {
  ComposeDims d;
  __host__ __device__ int64_t xi(int64_t b, int64_t n, int64_t t, int64_t s) const { return ((b * d.N + n) * d.T + t) * d.S + s; }
  __host__ __device__ int64_t wq(int64_t b, int64_t t, int64_t i, int64_t n) const { return ((b * d.T + t) * d.I + i) * d.N + n; }
  __host__ __device__ int64_t wk(int64_t b, int64_t s, int64_t i, int64_t n) const { return ((b * d.S + s) * d.I + i) * d.N + n; }
  // (t, s) lies in the band: key = bandK + s ≤ p = bandQ + t, and key > p − W for a window W > 0
  __host__ __device__ bool inBand(int64_t t, int64_t s) const {
    if (d.bandW < 0) return true;
    const int64_t p = d.bandQ + t, key = d.bandK + s;
    return key <= p && (d.bandW == 0 || key > p - d.bandW);
  }
};

struct Weights {
  const float *qw1, *qw2, *qdd, *kw1, *kw2, *kdd;  // null for a side that is off
};

struct Forward {
  Layout L;
  Weights w;
  const float* x;
  float* out;
  __host__ __device__ void operator()(int64_t idx) const {
    const ComposeDims& d = L.d;
    const int64_t s = idx % d.S, t = (idx / d.S) % d.T, b = idx / (d.S * d.T);
    if (!L.inBand(t, s)) {
      for (int64_t m = 0; m < d.N; m++) out[L.xi(b, m, t, s)] = 0.0f;
      return;
    }
    float hq[kComposeMaxI], hk[kComposeMaxI];
    for (int64_t i = 0; i < d.I; i++) {
      float aq = 0, ak = 0;
      for (int64_t n = 0; n < d.N; n++) {
        const float xn = x[L.xi(b, n, t, s)];
        if (w.qw1) aq += w.qw1[L.wq(b, t, i, n)] * xn;
        if (w.kw1) ak += w.kw1[L.wk(b, s, i, n)] * xn;
      }
      hq[i] = aq, hk[i] = ak;
    }
    for (int64_t m = 0; m < d.N; m++) {
      const float gate = 1.0f + (w.qdd ? w.qdd[(b * d.T + t) * d.N + m] : 0.0f) + (w.kdd ? w.kdd[(b * d.S + s) * d.N + m] : 0.0f);
      float o = x[L.xi(b, m, t, s)] * gate;
      for (int64_t i = 0; i < d.I; i++) {
        if (w.qw2) o += w.qw2[L.wq(b, t, i, m)] * hq[i];
        if (w.kw2) o += w.kw2[L.wk(b, s, i, m)] * hk[i];
      }
      out[L.xi(b, m, t, s)] = o;
    }
  }
};

struct BackwardDx {
  Layout L;
  Weights w;
  const float *x, *dy;
  float* dx;
  __host__ __device__ void operator()(int64_t idx) const {
    const ComposeDims& d = L.d;
    const int64_t s = idx % d.S, t = (idx / d.S) % d.T, b = idx / (d.S * d.T);
    if (!L.inBand(t, s)) {
      for (int64_t n = 0; n < d.N; n++) dx[L.xi(b, n, t, s)] = 0.0f;
      return;
    }
    float gq[kComposeMaxI], gk[kComposeMaxI];
    for (int64_t i = 0; i < d.I; i++) {
      float aq = 0, ak = 0;
      for (int64_t m = 0; m < d.N; m++) {
        const float dym = dy[L.xi(b, m, t, s)];
        if (w.qw2) aq += w.qw2[L.wq(b, t, i, m)] * dym;
        if (w.kw2) ak += w.kw2[L.wk(b, s, i, m)] * dym;
      }
      gq[i] = aq, gk[i] = ak;
    }
    for (int64_t n = 0; n < d.N; n++) {
      const float gate = 1.0f + (w.qdd ? w.qdd[(b * d.T + t) * d.N + n] : 0.0f) + (w.kdd ? w.kdd[(b * d.S + s) * d.N + n] : 0.0f);
      float g = dy[L.xi(b, n, t, s)] * gate;
      for (int64_t i = 0; i < d.I; i++) {
        if (w.qw1) g += w.qw1[L.wq(b, t, i, n)] * gq[i];
        if (w.kw1) g += w.kw1[L.wk(b, s, i, n)] * gk[i];
      }
      dx[L.xi(b, n, t, s)] = g;
    }
  }
};

// One side's w1/w2 gradients for one (b, r, i), where r is t (query side: sum over s) or s (key side:
// sum over t). w1/w2 point at that side's weights, laid out [B, R, I, N].
struct SideWeightGrads {
  Layout L;
  const float *w1, *w2, *x, *dy;
  float *dw1, *dw2;
  bool query;  // r is t, the sum runs over s; else r is s and the sum runs over t
  __host__ __device__ void operator()(int64_t idx) const {
    const ComposeDims& d = L.d;
    const int64_t R = query ? d.T : d.S;
    const int64_t i = idx % d.I, r = (idx / d.I) % R, b = idx / (d.I * R);
    const float* v1 = w1 + ((b * R + r) * d.I + i) * d.N;  // w1[b,r,i,:]
    const float* v2 = w2 + ((b * R + r) * d.I + i) * d.N;
    float a1[kComposeMaxN], a2[kComposeMaxN];
    for (int64_t n = 0; n < d.N; n++) a1[n] = 0, a2[n] = 0;
    const int64_t other = query ? d.S : d.T;
    for (int64_t u = 0; u < other; u++) {
      const int64_t t = query ? r : u, s = query ? u : r;
      if (!L.inBand(t, s)) continue;
      float h = 0, g = 0;
      for (int64_t n = 0; n < d.N; n++) {
        h += v1[n] * x[L.xi(b, n, t, s)];
        g += v2[n] * dy[L.xi(b, n, t, s)];
      }
      for (int64_t n = 0; n < d.N; n++) {
        a1[n] += g * x[L.xi(b, n, t, s)];
        a2[n] += h * dy[L.xi(b, n, t, s)];
      }
    }
    for (int64_t n = 0; n < d.N; n++) dw1[((b * R + r) * d.I + i) * d.N + n] = a1[n], dw2[((b * R + r) * d.I + i) * d.N + n] = a2[n];
  }
};

// dqdd[b,t,n] = Σ_s x·dy (query) or dkdd[b,s,n] = Σ_t x·dy (key), in band only.
struct SideDdGrad {
  Layout L;
  const float *x, *dy;
  float* ddd;
  bool query;
  __host__ __device__ void operator()(int64_t idx) const {
    const ComposeDims& d = L.d;
    const int64_t R = query ? d.T : d.S, other = query ? d.S : d.T;
    const int64_t n = idx % d.N, r = (idx / d.N) % R, b = idx / (d.N * R);
    float a = 0;
    for (int64_t u = 0; u < other; u++) {
      const int64_t t = query ? r : u, s = query ? u : r;
      if (L.inBand(t, s)) a += x[L.xi(b, n, t, s)] * dy[L.xi(b, n, t, s)];
    }
    ddd[idx] = a;
  }
};

}  // namespace

void composeForward(const float* x, const float* qw1, const float* qw2, const float* qdd, const float* kw1, const float* kw2,
                    const float* kdd, float* out, const ComposeDims& d) {
  forEachIndex(Forward{Layout{d}, Weights{qw1, qw2, qdd, kw1, kw2, kdd}, x, out}, d.B * d.T * d.S);
}

void composeBackward(const float* x, const float* qw1, const float* qw2, const float* qdd, const float* kw1, const float* kw2,
                     const float* kdd, const float* dy, float* dx, float* dqw1, float* dqw2, float* dqdd, float* dkw1, float* dkw2,
                     float* dkdd, const ComposeDims& d) {
  const Layout L{d};
  forEachIndex(BackwardDx{L, Weights{qw1, qw2, qdd, kw1, kw2, kdd}, x, dy, dx}, d.B * d.T * d.S);
  if (qw1) {
    forEachIndex(SideWeightGrads{L, qw1, qw2, x, dy, dqw1, dqw2, true}, d.B * d.T * d.I);
    forEachIndex(SideDdGrad{L, x, dy, dqdd, true}, d.B * d.T * d.N);
  }
  if (kw1) {
    forEachIndex(SideWeightGrads{L, kw1, kw2, x, dy, dkw1, dkw2, false}, d.B * d.S * d.I);
    forEachIndex(SideDdGrad{L, x, dy, dkdd, false}, d.B * d.S * d.N);
  }
}

}  // namespace dcf
