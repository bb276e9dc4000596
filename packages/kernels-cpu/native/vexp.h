// exp for float32 written so that gcc vectorises loops over it (std::exp does not vectorise without
// -ffast-math): Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, then a degree-7 Taylor polynomial
// (truncation error r⁸/8! < 1e-8 relative, below float32 rounding). Inputs below −87 return
// exp(−87) ≈ 1.6e-38 instead of a denormal or 0: callers use it for x − max ≤ 0 inside sums ≥ 1.
// Branch-free (fmin/fmax, a rounding trick, bit_cast) so the vectoriser sees no control flow.
#pragma once
#include <cstdint>

namespace dcf {

inline float vexp(float x) {
  x = __builtin_fminf(__builtin_fmaxf(x, -87.0f), 88.0f);
  // round to nearest via the 1.5·2²³ trick: exact for |x·log2e| < 2²²
  const float shifter = 12582912.0f;
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return p * __builtin_bit_cast(float, bits);
}

}  // namespace dcf
