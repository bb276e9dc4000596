// NEON micro-kernel (arm64): an 8×12 tile of C in 24 q-register accumulators; the 8 A values of a
// step sit in two registers and feed the FMAs by lane (vfmaq_laneq_f32), 3 B vectors: 29 of 32.
#include "gemm.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace dcf::gemm {
namespace {

constexpr int MR = 8, NR = 12;

#define DCF_ROW(r, A, L)                              \
  c[r][0] = vfmaq_laneq_f32(c[r][0], b0, A, L);       \
  c[r][1] = vfmaq_laneq_f32(c[r][1], b1, A, L);       \
  c[r][2] = vfmaq_laneq_f32(c[r][2], b2, A, L);

void micro(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, bool accumulate) {
  float32x4_t c[MR][3];
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < 3; j++) c[r][j] = accumulate ? vld1q_f32(C + r * ldc + 4 * j) : vdupq_n_f32(0.0f);
  for (int64_t k = 0; k < kc; k++, Ap += MR, Bp += NR) {
    const float32x4_t b0 = vld1q_f32(Bp), b1 = vld1q_f32(Bp + 4), b2 = vld1q_f32(Bp + 8);
    const float32x4_t a0 = vld1q_f32(Ap), a1 = vld1q_f32(Ap + 4);
    DCF_ROW(0, a0, 0) DCF_ROW(1, a0, 1) DCF_ROW(2, a0, 2) DCF_ROW(3, a0, 3)
    DCF_ROW(4, a1, 0) DCF_ROW(5, a1, 1) DCF_ROW(6, a1, 2) DCF_ROW(7, a1, 3)
  }
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < 3; j++) vst1q_f32(C + r * ldc + 4 * j, c[r][j]);
}
#undef DCF_ROW

void dotRows(const float* a, const float* b, float* c, int64_t N, int64_t K) {
  const int64_t K16 = K / 16 * 16;
  for (int64_t n = 0; n < N; n++) {
    const float* bn = b + n * K;
    float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
    for (int64_t k = 0; k < K16; k += 16)
      for (int j = 0; j < 4; j++) acc[j] = vfmaq_f32(acc[j], vld1q_f32(a + k + 4 * j), vld1q_f32(bn + k + 4 * j));
    float lanes[16];
    for (int j = 0; j < 4; j++) vst1q_f32(lanes + 4 * j, acc[j]);
    for (int l = 0; K16 + l < K; l++) lanes[l] = __builtin_fmaf(a[K16 + l], bn[K16 + l], lanes[l]);
    c[n] = foldLanes(lanes);
  }
}

}  // namespace

const Path* neonPath() {
  static const Path path{"neon", MR, NR, micro, dotRows};
  return &path;
}

}  // namespace dcf::gemm

#else
namespace dcf::gemm {
const Path* neonPath() { return nullptr; }
}  // namespace dcf::gemm
#endif
