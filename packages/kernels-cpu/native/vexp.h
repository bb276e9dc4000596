// exp for float32 written so that gcc vectorises loops over it (std::exp does not vectorise without
// -ffast-math): Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, then a degree-7 Taylor polynomial
// (truncation error r⁸/8! < 1e-8 relative, below float32 rounding). Inputs below −87 return
// exp(−87) ≈ 1.6e-38 instead of a denormal or 0: callers use it for x − max ≤ 0 inside sums ≥ 1.
#pragma once
#include <cstdint>
#include <cstring>
#include <cmath>

namespace dcf {

inline float vexp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
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
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace dcf
