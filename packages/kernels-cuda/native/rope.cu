// DcRope, "half" layout: y[:H] = x1·cos − x2·sin, y[H:2H] = x2·cos + x1·sin, dims past 2H pass through.
// One thread per output element of x [B,T,N,E]; cos/sin are [tableRows ∈ {1, B}, T, H].
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

struct Rope {
  const float *x, *cs, *sn;
  float* out;
  int64_t T, N, E, H, tableRows;
  __host__ __device__ void operator()(int64_t i) const {
    const int64_t j = i % E;
    const int64_t bt = i / (N * E);  // b·T + t
    if (j >= 2 * H) {
      out[i] = x[i];
      return;
    }
    const int64_t b = bt / T, t = bt % T;
    const int64_t k = j < H ? j : j - H;  // the frequency of this pair
    const int64_t c = ((tableRows == 1 ? 0 : b) * T + t) * H + k;
    const int64_t head = i - j;  // start of this head's E values
    const float x1 = x[head + k], x2 = x[head + H + k];
    out[i] = j < H ? x1 * cs[c] - x2 * sn[c] : x2 * cs[c] + x1 * sn[c];
  }
};

}  // namespace

void rope(const float* x, const float* cos, const float* sin, float* out, int64_t B, int64_t T, int64_t N, int64_t E, int64_t H,
          int64_t tableRows) {
  forEachIndex(Rope{x, cos, sin, out, T, N, E, H, tableRows}, B * T * N * E);
}

}  // namespace dcf
