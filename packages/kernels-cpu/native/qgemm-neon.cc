// Compact matmul, AArch64 NEON (4 lanes; every AArch64 CPU has it, with half-precision conversion).
#include "qgemm.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include "qgemm-impl.h"

namespace dcf::qgemm {
namespace {

struct VNeon {
  using R = float32x4_t;
  static constexpr int W = 4;
  static R zero() { return vdupq_n_f32(0.0f); }
  static R load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, R v) { vst1q_f32(p, v); }
  static R fma(R a, R b, R c) { return vfmaq_f32(c, a, b); }
  static R add(R a, R b) { return vaddq_f32(a, b); }
  static R set1(float s) { return vdupq_n_f32(s); }
  static float sum(R v) { return vaddvq_f32(v); }
  static void bf16(const uint8_t* p, R* o) {
    const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
    for (int i = 0; i < 8; i++) o[i] = vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(h + 4 * i), 16));
  }
  static void f16(const uint8_t* p, R* o) {
    const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
    for (int i = 0; i < 8; i++) o[i] = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h + 4 * i)));
  }
  static void widen(int16x8_t s, R* o) {
    o[0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(s)));
    o[1] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(s)));
  }
  static void i8(const uint8_t* p, R* o) {
    for (int j = 0; j < 2; j++) {
      const int8x16_t b = vld1q_s8(reinterpret_cast<const int8_t*>(p + 16 * j));
      widen(vmovl_s8(vget_low_s8(b)), o + 4 * j);
      widen(vmovl_s8(vget_high_s8(b)), o + 4 * j + 2);
    }
  }
  static void i4(const uint8_t* p, R* o) {
    const uint8x16_t b = vld1q_u8(p);
    const uint8x16_t lo = vandq_u8(b, vdupq_n_u8(15)), hi = vshrq_n_u8(b, 4);
    const int16x8_t eight = vdupq_n_s16(8);
    const auto s16 = [&](uint8x8_t v) { return vsubq_s16(vreinterpretq_s16_u16(vmovl_u8(v)), eight); };
    widen(s16(vget_low_u8(lo)), o);
    widen(s16(vget_high_u8(lo)), o + 2);
    widen(s16(vget_low_u8(hi)), o + 4);
    widen(s16(vget_high_u8(hi)), o + 6);
  }
};

}  // namespace

const Path* neonPath() {
  static const Path path{"neon", Kernels<VNeon>::rows};
  return &path;
}

}  // namespace dcf::qgemm

#else
namespace dcf::qgemm {
const Path* neonPath() { return nullptr; }
}  // namespace dcf::qgemm
#endif
