// Portable micro-kernel for any other CPU: plain C++ on a 4×8 tile. It calls fmaf so that its
// results equal the vector paths' bit for bit (slow where the CPU has no FMA instruction, but right).
// Compiled for the architecture's baseline (no -m flags).
#include "gemm.h"

namespace dcf::gemm {
namespace {

constexpr int MR = 4, NR = 8;

void micro(int64_t kc, const float* Ap, const float* Bp, float* C, int64_t ldc, bool accumulate) {
  float acc[MR][NR];
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NR; j++) acc[r][j] = accumulate ? C[r * ldc + j] : 0.0f;
  for (int64_t k = 0; k < kc; k++, Ap += MR, Bp += NR)
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < NR; j++) acc[r][j] = __builtin_fmaf(Ap[r], Bp[j], acc[r][j]);
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NR; j++) C[r * ldc + j] = acc[r][j];
}

}  // namespace

const Path* portablePath() {
  static const Path path{"portable", MR, NR, micro, dotRowsScalar};
  return &path;
}

}  // namespace dcf::gemm
