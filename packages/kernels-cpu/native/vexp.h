// exp for float32 written so that gcc vectorises loops over it (std::exp does not, without
// -ffast-math): Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, a degree-7 Taylor polynomial
// (truncation error r⁸/8! < 1e-8 relative, below float32 rounding), and 2ⁿ applied as two factors
// 2^⌊n/2⌋·2^⌈n/2⌉ so that results overflow to +∞ and underflow gradually through the denormals as
// std::exp's do. NaN stays NaN. Branch-free (fmin/fmax, a rounding trick, bit_cast, selects) so
// the vectoriser sees no control flow. Measured against std::exp: ≤ 1 ulp. Also the row maximum and
// the blocked Σ exp(x − max) that softmax and cross-entropy share.
#pragma once
#include <cmath>
#include <cstdint>

namespace dcf {

inline float pow2i(int32_t n) {  // 2ⁿ for −126 ≤ n ≤ 127
  return __builtin_bit_cast(float, (n + 127) << 23);
}

// kLow: −104 for gradual underflow (std::exp's results); −87.33 to flush results below the smallest
// normal float (1.2e-38) to 0 — denormal arithmetic takes a microcode assist (~100× slower), and
// softmax over masked scores (x − max ≈ −1e30 for half the entries) would hit it everywhere.
template <bool kFlushDenormals>
inline float vexpImpl(float x) {
  const float low = kFlushDenormals ? -87.33f : -104.0f;
  // clamp with selects, not fminf/fmaxf: gcc vectorises those only under -ffinite-math-only (NaN
  // rules), and then the whole loop around an exp stays scalar. A NaN x passes through here and is
  // returned as x below.
  const float lowered = x < low ? low : x;
  const float c = lowered > 89.0f ? 89.0f : lowered;
  // round to nearest via the 1.5·2²³ trick: exact for |c·log2e| < 2²²
  const float shifter = 12582912.0f;
  const float n = (c * 1.44269504088896341f + shifter) - shifter;
  const float r = (c - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t n1 = ni >> 1;
  const float y = p * pow2i(n1) * pow2i(ni - n1);
  if (kFlushDenormals) return x != x ? x : (x < low ? 0.0f : y);
  return x != x ? x : y;
}

/** exp(x), ≤ 1 ulp from std::exp over the whole float range, denormals included. */
inline float vexp(float x) { return vexpImpl<false>(x); }

/** exp(x) with results below 1.2e-38 flushed to 0: for sums of exp(x − max), where they vanish. */
inline float vexpFlush(float x) { return vexpImpl<true>(x); }

// The row operations of softmax and cross-entropy.
inline float rowMax(const float* x, int64_t V) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t v = 0; v < V; v++) m = x[v] > m ? x[v] : m;
  return m;
}

// Σ exp(x − m) over a row, optionally storing the terms. Float lanes within 1024-entry blocks (the
// vectoriser needs one element type), blocks added in double: float lanes alone drift by ~1e-4
// relative over a 50k-entry row.
inline double sumExp(const float* x, float m, int64_t V, float* store) {
  double total = 0;
  for (int64_t b = 0; b < V; b += 1024) {
    const int64_t e = b + 1024 < V ? b + 1024 : V;
    float sum = 0;
    if (store != nullptr) {
#pragma omp simd reduction(+ : sum)
      for (int64_t v = b; v < e; v++) {
        const float t = vexpFlush(x[v] - m);
        store[v] = t;
        sum += t;
      }
    } else {
#pragma omp simd reduction(+ : sum)
      for (int64_t v = b; v < e; v++) sum += vexpFlush(x[v] - m);
    }
    total += sum;
  }
  return total;
}

}  // namespace dcf
