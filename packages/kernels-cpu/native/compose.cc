// Fused DcmhaCompose forward and backward (DCMHA.md "Compose"), one pass over x per (b, t) row.
// The key-side weights are first transposed to [B,I,N,S] so every inner loop runs over s with unit
// stride (the compiler vectorises it); the per-(t,s) N×N matrix is never built (O(T·S·N·I)).
#include "common.h"
#include <omp.h>
#include <vector>

namespace dcf {
namespace {

struct Dims {
  int64_t B, N, T, S, I;
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

// h_i[s] = Σ_n w[i,n(,s)]·x_n[s] for the query side (w per t) and the key side (w per s).
inline void project(const Inputs& in, const Dims& d, int64_t b, int64_t t, const float* xrow0, int64_t xstride,
                    float* hq, float* hk) {
  const int64_t N = d.N, S = d.S, I = d.I;
  for (int64_t i = 0; i < I; i++) {
    if (in.q) {
      float* h = hq + i * S;
      for (int64_t s = 0; s < S; s++) h[s] = 0;
      const float* w = in.qw1 + ((b * d.T + t) * I + i) * N;
      for (int64_t n = 0; n < N; n++) {
        const float wn = w[n];
        const float* xn = xrow0 + n * xstride;
        for (int64_t s = 0; s < S; s++) h[s] += wn * xn[s];
      }
    }
    if (in.k) {
      float* h = hk + i * S;
      for (int64_t s = 0; s < S; s++) h[s] = 0;
      const float* w = in.kw1T.data() + (b * I + i) * N * S;
      for (int64_t n = 0; n < N; n++) {
        const float* wn = w + n * S;
        const float* xn = xrow0 + n * xstride;
        for (int64_t s = 0; s < S; s++) h[s] += wn[s] * xn[s];
      }
    }
  }
}

}  // namespace

// composeForward(x, qw1, qw2, qdd, kw1, kw2, kdd, out, B, N, T, S, I); absent sides are null.
napi_value ComposeForward(napi_env env, napi_callback_info info) {
  Args args(env, info, 13);
  const Dims d = dimsOf(args, 8);
  Inputs in = prepare(env, args, d);
  float* out = args.f32(7);
  if (args.failed()) return nullptr;
  const int64_t N = d.N, T = d.T, S = d.S, I = d.I;
  const int64_t xstride = T * S;
#pragma omp parallel if (d.B * N * T * S * (I + 1) > 1 << 15)
  {
    std::vector<float> hq(I * S), hk(I * S);
#pragma omp for schedule(static)
    for (int64_t bt = 0; bt < d.B * T; bt++) {
      const int64_t b = bt / T, t = bt % T;
      const float* x0 = in.x + (b * N * T + t) * S;
      float* o0 = out + (b * N * T + t) * S;
      project(in, d, b, t, x0, xstride, hq.data(), hk.data());
      for (int64_t m = 0; m < N; m++) {
        const float* xm = x0 + m * xstride;
        float* om = o0 + m * xstride;
        const float gq = 1.0f + (in.q ? in.qdd[(b * T + t) * N + m] : 0.0f);
        if (in.k) {
          const float* kd = in.kddT.data() + (b * N + m) * S;
          for (int64_t s = 0; s < S; s++) om[s] = xm[s] * (gq + kd[s]);
        } else {
          for (int64_t s = 0; s < S; s++) om[s] = xm[s] * gq;
        }
        for (int64_t i = 0; i < I; i++) {
          if (in.q) {
            const float w = in.qw2[((b * T + t) * I + i) * N + m];
            const float* h = hq.data() + i * S;
            for (int64_t s = 0; s < S; s++) om[s] += w * h[s];
          }
          if (in.k) {
            const float* w = in.kw2T.data() + ((b * I + i) * N + m) * S;
            const float* h = hk.data() + i * S;
            for (int64_t s = 0; s < S; s++) om[s] += w[s] * h[s];
          }
        }
      }
    }
  }
  return nullptr;
}

// composeBackward(x, qw1, qw2, qdd, kw1, kw2, kdd, dy, dx, dqw1, dqw2, dqdd, dkw1, dkw2, dkdd, B, N, T, S, I)
napi_value ComposeBackward(napi_env env, napi_callback_info info) {
  Args args(env, info, 20);
  const Dims d = dimsOf(args, 15);
  Inputs in = prepare(env, args, d);
  const float* dy = args.f32(7);
  float* dx = args.f32(8);
  float* dqw1 = in.q ? args.f32(9) : nullptr;
  float* dqw2 = in.q ? args.f32(10) : nullptr;
  float* dqdd = in.q ? args.f32(11) : nullptr;
  float* dkw1 = in.k ? args.f32(12) : nullptr;
  float* dkw2 = in.k ? args.f32(13) : nullptr;
  float* dkdd = in.k ? args.f32(14) : nullptr;
  if (args.failed()) return nullptr;
  const int64_t B = d.B, N = d.N, T = d.T, S = d.S, I = d.I;
  const int64_t xstride = T * S;
  const int64_t keySize = B * I * N * S;
  const bool parallel = B * N * T * S * (I + 1) > 1 << 15;
  const int threads = parallel ? omp_get_max_threads() : 1;
  // Key-side gradients sum over t: each thread accumulates its own copy, reduced after the loop.
  std::vector<float> acc(in.k ? static_cast<size_t>(threads) * (2 * keySize + B * N * S) : 0, 0.0f);
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> hq(I * S), hk(I * S), gq(I * S), gk(I * S);
    float* myAcc = in.k ? acc.data() + omp_get_thread_num() * (2 * keySize + B * N * S) : nullptr;
#pragma omp for schedule(static)
    for (int64_t bt = 0; bt < B * T; bt++) {
      const int64_t b = bt / T, t = bt % T;
      const float* x0 = in.x + (b * N * T + t) * S;
      const float* dy0 = dy + (b * N * T + t) * S;
      float* dx0 = dx + (b * N * T + t) * S;
      project(in, d, b, t, x0, xstride, hq.data(), hk.data());
      // g_i[s] = Σ_m w2[i,m(,s)]·dy_m[s]
      for (int64_t i = 0; i < I; i++) {
        if (in.q) {
          float* g = gq.data() + i * S;
          for (int64_t s = 0; s < S; s++) g[s] = 0;
          const float* w = in.qw2 + ((b * T + t) * I + i) * N;
          for (int64_t m = 0; m < N; m++) {
            const float* dym = dy0 + m * xstride;
            for (int64_t s = 0; s < S; s++) g[s] += w[m] * dym[s];
          }
        }
        if (in.k) {
          float* g = gk.data() + i * S;
          for (int64_t s = 0; s < S; s++) g[s] = 0;
          const float* w = in.kw2T.data() + (b * I + i) * N * S;
          for (int64_t m = 0; m < N; m++) {
            const float* dym = dy0 + m * xstride;
            const float* wm = w + m * S;
            for (int64_t s = 0; s < S; s++) g[s] += wm[s] * dym[s];
          }
        }
      }
      for (int64_t n = 0; n < N; n++) {
        const float* xn = x0 + n * xstride;
        const float* dyn = dy0 + n * xstride;
        float* dxn = dx0 + n * xstride;
        const float gate = 1.0f + (in.q ? in.qdd[(b * T + t) * N + n] : 0.0f);
        if (in.k) {
          const float* kd = in.kddT.data() + (b * N + n) * S;
          for (int64_t s = 0; s < S; s++) dxn[s] = dyn[s] * (gate + kd[s]);
        } else {
          for (int64_t s = 0; s < S; s++) dxn[s] = dyn[s] * gate;
        }
        float xdy = 0;
#pragma omp simd reduction(+ : xdy)
        for (int64_t s = 0; s < S; s++) xdy += xn[s] * dyn[s];
        if (in.q) dqdd[(b * T + t) * N + n] = xdy;
        if (in.k) {
          float* kd = myAcc + 2 * keySize + (b * N + n) * S;
          for (int64_t s = 0; s < S; s++) kd[s] += xn[s] * dyn[s];
        }
        for (int64_t i = 0; i < I; i++) {
          if (in.q) {
            const float w1 = in.qw1[((b * T + t) * I + i) * N + n];
            const float* g = gq.data() + i * S;
            const float* h = hq.data() + i * S;
            float s1 = 0, s2 = 0;
#pragma omp simd reduction(+ : s1, s2)
            for (int64_t s = 0; s < S; s++) {
              dxn[s] += w1 * g[s];
              s1 += g[s] * xn[s];
              s2 += h[s] * dyn[s];
            }
            dqw1[((b * T + t) * I + i) * N + n] = s1;
            dqw2[((b * T + t) * I + i) * N + n] = s2;
          }
          if (in.k) {
            const float* w1 = in.kw1T.data() + ((b * I + i) * N + n) * S;
            const float* g = gk.data() + i * S;
            const float* h = hk.data() + i * S;
            float* a1 = myAcc + ((b * I + i) * N + n) * S;
            float* a2 = myAcc + keySize + ((b * I + i) * N + n) * S;
            for (int64_t s = 0; s < S; s++) {
              dxn[s] += w1[s] * g[s];
              a1[s] += g[s] * xn[s];
              a2[s] += h[s] * dyn[s];
            }
          }
        }
      }
    }
  }
  if (in.k) {
    const int64_t per = 2 * keySize + B * N * S;
    for (int th = 1; th < threads; th++) {
      const float* src = acc.data() + th * per;
      for (int64_t j = 0; j < per; j++) acc[j] += src[j];
    }
    fromKeyMajor(acc.data(), dkw1, B, S, I * N);
    fromKeyMajor(acc.data() + keySize, dkw2, B, S, I * N);
    fromKeyMajor(acc.data() + 2 * keySize, dkdd, B, S, N);
  }
  return nullptr;
}

}  // namespace dcf
