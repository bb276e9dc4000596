// Compact matmul in plain C++ (one lane): any CPU, and the check the vector paths are compared to.
#include "qgemm-impl.h"

namespace dcf::qgemm {
namespace {

struct VScalar {
  using R = float;
  static constexpr int W = 1;
  static R zero() { return 0.0f; }
  static R load(const float* p) { return *p; }
  static void store(float* p, R v) { *p = v; }
  static R fma(R a, R b, R c) { return __builtin_fmaf(a, b, c); }
  static R add(R a, R b) { return a + b; }
  static R set1(float s) { return s; }
  static float sum(R v) { return v; }
  static void bf16(const uint8_t* p, R* o) {
    for (int i = 0; i < 32; i++) o[i] = rawWeight<kBf16>(p, i);
  }
  static void f16(const uint8_t* p, R* o) {
    for (int i = 0; i < 32; i++) o[i] = rawWeight<kF16>(p, i);
  }
  static void i8(const uint8_t* p, R* o) {
    for (int i = 0; i < 32; i++) o[i] = rawWeight<kInt8>(p, i);
  }
  static void i4(const uint8_t* p, R* o) {
    for (int i = 0; i < 32; i++) o[i] = rawWeight<kInt4>(p, i);
  }
};

}  // namespace

const Path* portablePath() {
  static const Path path{"portable", Kernels<VScalar>::rows};
  return &path;
}

}  // namespace dcf::qgemm
