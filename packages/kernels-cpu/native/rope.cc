// Rotary embedding, "half" layout (kernel DcRope of @dcformer/kernels): one pass over x. The same
// float32 operations in the same order as the reference ops (x1·cos − x2·sin, x2·cos + x1·sin), with
// FMA contraction off, so results equal the reference's bit for bit.
#pragma GCC optimize("fp-contract=off")
#include "common.h"
#include <omp.h>

namespace dcf {

// rope(x, cos, sin, out, B, T, N, E, H, tableRows): cos/sin [tableRows, T, H], tableRows 1 or B
napi_value Rope(napi_env env, napi_callback_info info) {
  Args args(env, info, 10);
  const float* x = args.f32(0);
  const float* cs = args.f32(1);
  const float* sn = args.f32(2);
  float* out = args.f32(3);
  const int64_t B = args.i64(4), T = args.i64(5), N = args.i64(6), E = args.i64(7), H = args.i64(8), rows = args.i64(9);
  if (args.failed()) return nullptr;
#pragma omp parallel for collapse(2) schedule(static) if (B * T * N * E > (1 << 15))
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++) {
      const float* c = cs + ((rows == 1 ? 0 : b) * T + t) * H;
      const float* s = sn + ((rows == 1 ? 0 : b) * T + t) * H;
      for (int64_t n = 0; n < N; n++) {
        const int64_t o = ((b * T + t) * N + n) * E;
        const float* px = x + o;
        float* po = out + o;
#pragma omp simd
        for (int64_t j = 0; j < H; j++) {
          po[j] = px[j] * c[j] - px[H + j] * s[j];
          po[H + j] = px[H + j] * c[j] + px[j] * s[j];
        }
        for (int64_t j = 2 * H; j < E; j++) po[j] = px[j];
      }
    }
  return nullptr;
}

}  // namespace dcf
