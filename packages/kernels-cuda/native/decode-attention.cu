// One decode step of DCMHA attention (docs/dcmha.md; @dcformer/compose `dcmhaAttention` with T = 1):
//   scores[n,s] = q_n·k_{n,s} / √E  →  pre-Compose over heads  →  mask  →  softmax over s
//   →  post-Compose over heads  →  out_n = Σ_s p[n,s]·v_{n,s}
// q [B,N,E]; k, v [B,N,S,E] (the cache, oldest key first); the Compose weights as in compose.cu with
// T = 1 (query side [B,1,I,N], [B,1,N]; key side [B,S,I,N], [B,S,N]; null when a side is off).
// Visibility: row b sees keys s ≥ lo[b] (the caller folds left padding, the local window and the
// cache start into lo); a row must see at least one key.
// Five launches, each host-tested: scores (thread per (b,n,s)), composeForward (compose.cu) into
// `scratch`, a masked softmax row kernel in place, composeForward back, and the weighted sum (thread
// per (b,n,e)). `scratch` holds 2·B·N·S floats.
#include "common.cuh"
#include "kernels.h"

namespace dcf {
namespace {

struct Scores {
  const float *q, *k;
  float* out;
  int64_t S, E;
  float scale;
  __host__ __device__ void operator()(int64_t idx) const {  // idx = (b·N + n)·S + s
    const float* qv = q + (idx / S) * E;
    const float* kv = k + idx * E;
    float s = 0;
    for (int64_t e = 0; e < E; e++) s += qv[e] * kv[e];
    out[idx] = s * scale;
  }
};

// Softmax over s of row (b, n), keys before lo[b] masked to probability 0.
struct MaskedSoftmax {
  static constexpr int kPasses = 2;
  float* x;  // [B·N, S], in place
  const int32_t* lo;
  int64_t N, S;
  __host__ __device__ Combine op(int pass) const { return pass == 0 ? Combine::Max : Combine::Sum; }
  __host__ __device__ float partial(int64_t row, int lane, int pass, const float* done) const {
    const int64_t first = lo[row / N];
    float a = pass == 0 ? -INFINITY : 0.0f;
    for (int64_t s = first + lane; s < S; s += kRowLanes) a = pass == 0 ? fmaxf(a, x[row * S + s]) : a + expf(x[row * S + s] - done[0]);
    return a;
  }
  __host__ __device__ void finish(int64_t row, int lane, const float* done) const {
    const int64_t first = lo[row / N];
    for (int64_t s = lane; s < S; s += kRowLanes) x[row * S + s] = s < first ? 0.0f : expf(x[row * S + s] - done[0]) / done[1];
  }
};

struct WeightedSum {
  const float *p, *v;
  float* out;
  int64_t S, E;
  __host__ __device__ void operator()(int64_t idx) const {  // idx = (b·N + n)·E + e
    const int64_t bn = idx / E, e = idx % E;
    float a = 0;
    for (int64_t s = 0; s < S; s++) a += p[bn * S + s] * v[(bn * S + s) * E + e];
    out[idx] = a;
  }
};

}  // namespace

void decodeAttention(const float* q, const float* k, const float* v, const ComposeSide& pre, const ComposeSide& post, const int32_t* lo,
                     float* out, float* scratch, int64_t B, int64_t N, int64_t S, int64_t E, int64_t I, float scale) {
  float* a = scratch;
  float* b = scratch + B * N * S;
  const ComposeDims d{B, N, 1, S, I, 0, 0, -1};
  forEachIndex(Scores{q, k, a, S, E, scale}, B * N * S);
  composeForward(a, pre.qw1, pre.qw2, pre.qdd, pre.kw1, pre.kw2, pre.kdd, b, d);
  forEachRow(MaskedSoftmax{b, lo, N, S}, B * N);
  composeForward(b, post.qw1, post.qw2, post.qdd, post.kw1, post.kw2, post.kdd, a, d);
  forEachIndex(WeightedSum{a, v, out, S, E}, B * N * E);
}

}  // namespace dcf
