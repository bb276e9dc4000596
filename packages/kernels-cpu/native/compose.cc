// Fused DcmhaCompose forward and backward (docs/dcmha.md "Compose"), one (b, t) row at a time. The
// key-side weights are first transposed to [B,I,N,S] so that s is the unit-stride axis everywhere;
// the per-(t,s) N×N matrix is never built (O(T·S·N·I)). Each row kernel is one loop over s that the
// compiler vectorises (omp simd), with the head loop inside it and the per-lane sums over heads in
// registers: every x, dy element is loaded once per pass instead of once per (i, side) as in a
// pass-per-projection form (2–3× slower measured). kI: I as a compile-time constant (1–4), or 0.
#include "common.h"
#include <omp.h>
#include <type_traits>
#include <vector>

namespace dcf {
namespace {

struct Dims {
  int64_t B, N, T, S, I;
  // attention's band hint (ComposeBand): bandW < 0 none, 0 causal only, > 0 causal window
  int64_t bandQ = 0, bandK = 0, bandW = -1;
  // keys [lo, hi) of row t that lie in the band (all of them without a band)
  void range(int64_t t, int64_t& lo, int64_t& hi) const {
    if (bandW < 0) {
      lo = 0, hi = S;
      return;
    }
    const int64_t p = bandQ + t;
    hi = p - bandK + 1 < S ? p - bandK + 1 : S;
    lo = bandW > 0 && p - bandW + 1 - bandK > 0 ? p - bandW + 1 - bandK : 0;
    if (hi < 0) hi = 0;
    if (lo > hi) lo = hi;
  }
};

// [B,S,I,N] → [B,I,N,S]  (and [B,S,N] → [B,N,S] with I = 1)
void toKeyMajor(const float* src, float* dst, int64_t B, int64_t S, int64_t IN) {
#pragma omp parallel for collapse(2) if (B * S * IN > 1 << 16)
  for (int64_t b = 0; b < B; b++)
    for (int64_t j = 0; j < IN; j++)
      for (int64_t s = 0; s < S; s++) dst[(b * IN + j) * S + s] = src[(b * S + s) * IN + j];
}

void fromKeyMajor(const float* src, float* dst, int64_t B, int64_t S, int64_t IN) {
  for (int64_t b = 0; b < B; b++)
    for (int64_t s = 0; s < S; s++)
      for (int64_t j = 0; j < IN; j++) dst[(b * S + s) * IN + j] = src[(b * IN + j) * S + s];
}

struct Inputs {
  const float *x, *qw1, *qw2, *qdd;
  std::vector<float> kw1T, kw2T, kddT;  // [B,I,N,S], [B,I,N,S], [B,N,S]
  bool q, k;
};

Inputs prepare(napi_env, Args& args, const Dims& d) {
  Inputs in;
  in.x = args.f32(0);
  in.qw1 = args.f32OrNull(1);
  in.qw2 = args.f32OrNull(2);
  in.qdd = args.f32OrNull(3);
  const float* kw1 = args.f32OrNull(4);
  const float* kw2 = args.f32OrNull(5);
  const float* kdd = args.f32OrNull(6);
  in.q = in.qw1 != nullptr;
  in.k = kw1 != nullptr;
  if (in.k && !args.failed()) {
    const int64_t IN = d.I * d.N;
    in.kw1T.resize(d.B * IN * d.S);
    in.kw2T.resize(d.B * IN * d.S);
    in.kddT.resize(d.B * d.N * d.S);
    toKeyMajor(kw1, in.kw1T.data(), d.B, d.S, IN);
    toKeyMajor(kw2, in.kw2T.data(), d.B, d.S, IN);
    toKeyMajor(kdd, in.kddT.data(), d.B, d.S, d.N);
  }
  return in;
}

Dims dimsOf(Args& args, size_t first) {
  return {args.i64(first), args.i64(first + 1), args.i64(first + 2), args.i64(first + 3), args.i64(first + 4)};
}


// Rows are processed in blocks of kB = 16 positions s (one AVX-512 vector) with fixed-length inner
// loops, so the per-lane accumulators stay in registers; the last partial block runs the same code
// with a runtime length.
constexpr int64_t kB = 16;

// h_i[s] = Σ_n w[i,n(,s)]·x_n[s] for the query side (w per t) and the key side (w per s); same form
// for g_i[s] = Σ_m w2[i,m(,s)]·dy_m[s].
template <int kI, int64_t kLen>
inline void projectBlock(const float* wq, const float* wk, int64_t N, int64_t S, int64_t I, int64_t len,
                         const float* x0, int64_t xstride, int64_t s0, float* hq, float* hk) {
  constexpr int kMax = kI > 0 ? kI : 16;
  const int64_t L = kLen > 0 ? kLen : len;
  float aq[kMax][kB] = {}, ak[kMax][kB] = {};
  for (int64_t n = 0; n < N; n++) {
    const float* xn = x0 + n * xstride + s0;
    for (int64_t i = 0; i < (kI > 0 ? kI : I); i++) {
      if (wq != nullptr) {
        const float w = wq[i * N + n];
#pragma omp simd
        for (int64_t j = 0; j < L; j++) aq[i][j] += w * xn[j];
      }
      if (wk != nullptr) {
        const float* w = wk + (i * N + n) * S + s0;
#pragma omp simd
        for (int64_t j = 0; j < L; j++) ak[i][j] += w[j] * xn[j];
      }
    }
  }
  for (int64_t i = 0; i < (kI > 0 ? kI : I); i++) {
    for (int64_t j = 0; j < L; j++) {
      if (wq != nullptr) hq[i * S + s0 + j] = aq[i][j];
      if (wk != nullptr) hk[i * S + s0 + j] = ak[i][j];
    }
  }
}

template <int kI>
inline void projectRow(const float* wq, const float* wk, int64_t N, int64_t S, int64_t I, const float* x0,
                       int64_t xstride, int64_t lo, int64_t hi, float* hq, float* hk) {
  int64_t s0 = lo;
  for (; s0 + kB <= hi; s0 += kB) projectBlock<kI, kB>(wq, wk, N, S, I, kB, x0, xstride, s0, hq, hk);
  if (s0 < hi) projectBlock<kI, 0>(wq, wk, N, S, I, hi - s0, x0, xstride, s0, hq, hk);
}

// zero a row's positions outside [lo, hi) (out of band)
inline void zeroOutside(float* row, int64_t S, int64_t lo, int64_t hi) {
  for (int64_t s = 0; s < lo; s++) row[s] = 0;
  for (int64_t s = hi; s < S; s++) row[s] = 0;
}

struct RowWeights {
  const float *q1, *q2, *k1, *k2;  // null for a side that is off
};

// Row (b, t)'s query-side weights [I,N] and batch b's key-major key-side weights [I,N,S].
inline RowWeights rowWeights(const Inputs& in, int64_t b, int64_t t, int64_t T, int64_t I, int64_t N, int64_t S) {
  return {in.q ? in.qw1 + (b * T + t) * I * N : nullptr, in.q ? in.qw2 + (b * T + t) * I * N : nullptr,
          in.k ? in.kw1T.data() + b * I * N * S : nullptr, in.k ? in.kw2T.data() + b * I * N * S : nullptr};
}

// One output row: out_m[s] = x_m[s]·(1 + qdd_m + kdd_m[s]) + Σ_i qw2[i,m]·hq_i[s] + kw2[i,m,s]·hk_i[s]
template <int kI>
void forwardRow(const Inputs& in, const Dims& d, int64_t b, int64_t t, float* hq, float* hk, float* out) {
  const int64_t N = d.N, T = d.T, S = d.S, I = kI > 0 ? kI : d.I, xstride = T * S;
  const float* x0 = in.x + (b * N * T + t) * S;
  float* o0 = out + (b * N * T + t) * S;
  const auto [wq1, wq2, wk1, wk2] = rowWeights(in, b, t, T, I, N, S);
  int64_t lo, hi;
  d.range(t, lo, hi);
  projectRow<kI>(wq1, wk1, N, S, I, x0, xstride, lo, hi, hq, hk);
  for (int64_t m = 0; m < N; m++) {
    const float* xm = x0 + m * xstride;
    float* om = o0 + m * xstride;
    zeroOutside(om, S, lo, hi);
    const float gq = 1.0f + (in.q ? in.qdd[(b * T + t) * N + m] : 0.0f);
    if (in.k) {
      const float* kd = in.kddT.data() + (b * N + m) * S;
#pragma omp simd
      for (int64_t s = lo; s < hi; s++) om[s] = xm[s] * (gq + kd[s]);
    } else {
#pragma omp simd
      for (int64_t s = lo; s < hi; s++) om[s] = xm[s] * gq;
    }
    for (int64_t i = 0; i < I; i++) {
      const float* h = hq + i * S;
      const float* hkk = hk + i * S;
      if (in.q && in.k) {
        const float w = wq2[i * N + m];
        const float* wk = wk2 + (i * N + m) * S;
#pragma omp simd
        for (int64_t s = lo; s < hi; s++) om[s] += w * h[s] + wk[s] * hkk[s];
      } else if (in.q) {
        const float w = wq2[i * N + m];
#pragma omp simd
        for (int64_t s = lo; s < hi; s++) om[s] += w * h[s];
      } else {
        const float* wk = wk2 + (i * N + m) * S;
#pragma omp simd
        for (int64_t s = lo; s < hi; s++) om[s] += wk[s] * hkk[s];
      }
    }
  }
}

struct Grads {
  float *dx, *dqw1, *dqw2, *dqdd;
  float* keyAcc;  // this thread's [dkw1T | dkw2T | dkddT], summed over t
  int64_t keySize;
};

template <int kI>
void backwardRow(const Inputs& in, const Dims& d, int64_t b, int64_t t, const float* dy, float* hq, float* hk,
                 float* gq, float* gk, const Grads& g) {
  const int64_t N = d.N, T = d.T, S = d.S, I = kI > 0 ? kI : d.I, xstride = T * S;
  const int64_t row = (b * N * T + t) * S;
  const float* x0 = in.x + row;
  const float* dy0 = dy + row;
  float* dx0 = g.dx + row;
  const auto [wq1, wq2, wk1, wk2] = rowWeights(in, b, t, T, I, N, S);
  int64_t lo, hi;
  d.range(t, lo, hi);
  projectRow<kI>(wq1, wk1, N, S, I, x0, xstride, lo, hi, hq, hk);  // h_i = Σ_n w1[i,n]·x_n
  projectRow<kI>(wq2, wk2, N, S, I, dy0, xstride, lo, hi, gq, gk);  // g_i = Σ_m w2[i,m]·dy_m
  for (int64_t n = 0; n < N; n++) {
    const float* xn = x0 + n * xstride;
    const float* dyn = dy0 + n * xstride;
    float* dxn = dx0 + n * xstride;
    const float gate = 1.0f + (in.q ? in.qdd[(b * T + t) * N + n] : 0.0f);
    zeroOutside(dxn, S, lo, hi);
    float xdy = 0;
    if (in.k) {
      const float* kd = in.kddT.data() + (b * N + n) * S;
      float* akd = g.keyAcc + 2 * g.keySize + (b * N + n) * S;
#pragma omp simd reduction(+ : xdy)
      for (int64_t s = lo; s < hi; s++) {
        const float p = xn[s] * dyn[s];
        dxn[s] = dyn[s] * (gate + kd[s]);
        xdy += p;
        akd[s] += p;
      }
    } else {
#pragma omp simd reduction(+ : xdy)
      for (int64_t s = lo; s < hi; s++) {
        dxn[s] = dyn[s] * gate;
        xdy += xn[s] * dyn[s];
      }
    }
    if (in.q) g.dqdd[(b * T + t) * N + n] = xdy;
    for (int64_t i = 0; i < I; i++) {
      const float* gqi = gq + i * S;
      const float* hqi = hq + i * S;
      const float* gki = gk + i * S;
      const float* hki = hk + i * S;
      if (in.q) {
        const float w1 = wq1[i * N + n];
        float s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
        for (int64_t s = lo; s < hi; s++) {
          dxn[s] += w1 * gqi[s];
          s1 += gqi[s] * xn[s];
          s2 += hqi[s] * dyn[s];
        }
        g.dqw1[((b * T + t) * I + i) * N + n] = s1;
        g.dqw2[((b * T + t) * I + i) * N + n] = s2;
      }
      if (in.k) {
        const float* w1 = wk1 + (i * N + n) * S;
        float* a1 = g.keyAcc + ((b * I + i) * N + n) * S;
        float* a2 = g.keyAcc + g.keySize + ((b * I + i) * N + n) * S;
#pragma omp simd
        for (int64_t s = lo; s < hi; s++) {
          dxn[s] += w1[s] * gki[s];
          a1[s] += gki[s] * xn[s];
          a2[s] += hki[s] * dyn[s];
        }
      }
    }
  }
}

template <typename F>
void dispatchI(int64_t I, F&& f) {
  switch (I) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    default: f(std::integral_constant<int, 0>{});
  }
}

}  // namespace

// composeForward(x, qw1, qw2, qdd, kw1, kw2, kdd, out, B, N, T, S, I, bandQ, bandK, bandW); absent
// sides are null; bandW < 0: no band hint.
napi_value ComposeForward(napi_env env, napi_callback_info info) {
  Args args(env, info, 16);
  Dims d = dimsOf(args, 8);
  d.bandQ = args.i64(13), d.bandK = args.i64(14), d.bandW = args.i64(15);
  Inputs in = prepare(env, args, d);
  float* out = args.f32(7);
  if (args.failed()) return nullptr;
  if (d.I > 16) {
    napi_throw_range_error(env, nullptr, "dcformer_cpu: composeForward supports I ≤ 16");
    return nullptr;
  }
  const int64_t T = d.T, I = d.I, S = d.S;
  dispatchI(I, [&](auto kI) {
#pragma omp parallel if (d.B * d.N * T * S * (I + 1) > 1 << 15)
    {
      std::vector<float> hq(I * S), hk(I * S);
#pragma omp for schedule(static)
      for (int64_t bt = 0; bt < d.B * T; bt++) forwardRow<decltype(kI)::value>(in, d, bt / T, bt % T, hq.data(), hk.data(), out);
    }
  });
  return nullptr;
}

// composeBackward(x, qw1, qw2, qdd, kw1, kw2, kdd, dy, dx, dqw1, dqw2, dqdd, dkw1, dkw2, dkdd, B, N, T, S, I,
//                 bandQ, bandK, bandW)
napi_value ComposeBackward(napi_env env, napi_callback_info info) {
  Args args(env, info, 23);
  Dims d = dimsOf(args, 15);
  d.bandQ = args.i64(20), d.bandK = args.i64(21), d.bandW = args.i64(22);
  Inputs in = prepare(env, args, d);
  const float* dy = args.f32(7);
  Grads g;
  g.dx = args.f32(8);
  g.dqw1 = in.q ? args.f32(9) : nullptr;
  g.dqw2 = in.q ? args.f32(10) : nullptr;
  g.dqdd = in.q ? args.f32(11) : nullptr;
  float* dkw1 = in.k ? args.f32(12) : nullptr;
  float* dkw2 = in.k ? args.f32(13) : nullptr;
  float* dkdd = in.k ? args.f32(14) : nullptr;
  if (args.failed()) return nullptr;
  if (d.I > 16) {
    napi_throw_range_error(env, nullptr, "dcformer_cpu: composeBackward supports I ≤ 16");
    return nullptr;
  }
  const int64_t B = d.B, N = d.N, T = d.T, S = d.S, I = d.I;
  g.keySize = B * I * N * S;
  const int64_t per = 2 * g.keySize + B * N * S;
  const bool parallel = B * N * T * S * (I + 1) > 1 << 15;
  const int threads = parallel ? omp_get_max_threads() : 1;
  // Key-side gradients sum over t: each thread accumulates its own copy, reduced after the loop.
  std::vector<float> acc(in.k ? static_cast<size_t>(threads) * per : 0, 0.0f);
  dispatchI(I, [&](auto kI) {
#pragma omp parallel num_threads(threads)
    {
      std::vector<float> hq(I * S), hk(I * S), gq(I * S), gk(I * S);
      Grads mine = g;
      mine.keyAcc = in.k ? acc.data() + omp_get_thread_num() * per : nullptr;
#pragma omp for schedule(static)
      for (int64_t bt = 0; bt < B * T; bt++) {
        backwardRow<decltype(kI)::value>(in, d, bt / T, bt % T, dy, hq.data(), hk.data(), gq.data(), gk.data(), mine);
      }
    }
  });
  if (in.k) {
    for (int th = 1; th < threads; th++) {
      const float* src = acc.data() + th * per;
      for (int64_t j = 0; j < per; j++) acc[j] += src[j];
    }
    fromKeyMajor(acc.data(), dkw1, B, S, I * N);
    fromKeyMajor(acc.data() + g.keySize, dkw2, B, S, I * N);
    fromKeyMajor(acc.data() + 2 * g.keySize, dkdd, B, S, N);
  }
  return nullptr;
}

}  // namespace dcf
