// The launchers of every kernel, one .cu file each. Pointers are device pointers in the device
// build and ordinary host pointers in the host build (the same sources, see compat.h); every
// launcher returns after queueing its work (device) or after doing it (host).
#pragma once
#include <cstdint>

namespace dcf {

// adamw.cu — DcAdamWUpdate: one element per thread
void adamW(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut, int64_t n,
           float gradScale, float decay, double beta1, double beta2, float eps, float stepSize, float bc2Sqrt);

// gelu.cu — DcGelu / DcGeluBackward (exact GELU through erf)
void geluForward(const float* x, float* y, int64_t n);
void geluBackward(const float* x, const float* dy, float* dx, int64_t n);

// rope.cu — DcRope, "half" layout; cos/sin [tableRows ∈ {1, B}, T, H]
void rope(const float* x, const float* cos, const float* sin, float* out, int64_t B, int64_t T, int64_t N, int64_t E, int64_t H,
          int64_t tableRows);

// rms-norm.cu — DcRmsNorm / DcRmsNormBackward over rows of D; invScratch: `rows` floats of device memory
void rmsNormForward(const float* x, const float* w, float* y, int64_t rows, int64_t D, float eps);
void rmsNormBackward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* invScratch, int64_t rows, int64_t D,
                     float eps);

// cross-entropy.cu — DcSoftmaxCrossEntropy (+ backward) over rows of V logits, int32 labels
void crossEntropyForward(const float* logits, const int32_t* labels, float* loss, float* lse, int64_t R, int64_t V);
void crossEntropyBackward(const float* logits, const int32_t* labels, const float* lse, const float* dy, float* dlogits, int64_t R,
                          int64_t V);

// compose.cu — DcmhaCompose (+ backward). A side that is off has null weights (and null gradients).
// bandW < 0: no band hint; 0: causal; > 0: causal window (ComposeBand of @dcformer/kernels).
struct ComposeDims {
  int64_t B, N, T, S, I;
  int64_t bandQ, bandK, bandW;
};
// The largest N and I the per-thread bodies keep in registers.
constexpr int64_t kComposeMaxN = 64;
constexpr int64_t kComposeMaxI = 16;
void composeForward(const float* x, const float* qw1, const float* qw2, const float* qdd, const float* kw1, const float* kw2,
                    const float* kdd, float* out, const ComposeDims& d);
void composeBackward(const float* x, const float* qw1, const float* qw2, const float* qdd, const float* kw1, const float* kw2,
                     const float* kdd, const float* dy, float* dx, float* dqw1, float* dqw2, float* dqdd, float* dkw1, float* dkw2,
                     float* dkdd, const ComposeDims& d);

// decode-attention.cu — one DCMHA decode step (T = 1) over the cache: q [B,N,E], k, v [B,N,S,E], the pre
// and post Compose weights (T = 1), visibility lo[b] (row b sees keys s ≥ lo[b]); out [B,N,E];
// scratch: 2·B·N·S floats of device memory
struct ComposeSide {
  const float *qw1, *qw2, *qdd, *kw1, *kw2, *kdd;  // null where a side is off
};
void decodeAttention(const float* q, const float* k, const float* v, const ComposeSide& pre, const ComposeSide& post, const int32_t* lo,
                     float* out, float* scratch, int64_t B, int64_t N, int64_t S, int64_t E, int64_t I, float scale);

// dynamic-weights.cu — DCMHA's dynamic weight projection, forward, fused (G = 1, C = 4 slots):
// x [X,D], dw1 [D,4,K], qkw [4,K,2I,N], ddW [D,4N] → w1, w2 [4,X,I,N] (w1 RMS-normalised over N), dd [X,4,N]
constexpr int64_t kDynamicMaxK = 256;
void dynamicWeights(const float* x, const float* dw1, const float* qkw, const float* ddW, float* w1, float* w2, float* dd, int64_t X,
                    int64_t D, int64_t K, int64_t I, int64_t N);

// gemm.cu — c[i] = op(a[i·strideA])·op(b[i·strideB]) for i < batch; c [batch,M,N] row-major, stride 0
// broadcasts. The tiled fallback; the device build prefers cuBLAS when it loads (cublas.cc).
void gemmTiled(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
               int64_t strideA, int64_t strideB);



// ---- the generic kernels of the `cuda` tfjs backend (src/kernels/): one family per file ----

// At most this many dimensions in a strided kernel; the backend folds or refuses higher ranks.
constexpr int kMaxRank = 8;
// An index space (shape) and, per operand, the element strides that walk it; stride 0 broadcasts.
struct Strides {
  int rank;
  int64_t shape[kMaxRank];
  int64_t a[kMaxRank], b[kMaxRank], c[kMaxRank];
};

// elementwise.cu — y = op(x) over n float32s; the codes are UnaryOp of src/kernels/codes.ts
void unaryF32(int op, const float* x, float* y, int64_t n, float alpha, float beta);
// out[i] = op(a[·], b[·]) over the index space of s (s.a, s.b walk a and b; out is dense). dtype 0 float32, 1 int32;
// comparison codes write uint8 (bool) outputs.
void binary(int op, int dtype, const void* a, const void* b, void* out, const Strides& s);
// out[i] = cond[·] ? a[·] : b[·] (cond uint8; s.c walks cond, s.a a, s.b b); 4-byte elements
void select(const uint8_t* cond, const void* a, const void* b, void* out, const Strides& s);
// dtype codes 0 float32, 1 int32, 2 bool (uint8)
void cast(const void* x, int from, void* y, int to, int64_t n);
// y[i] = start + i·step in dtype (0 float32, 1 int32, 2 bool)
void fill(void* y, int dtype, int64_t n, double start, double step);

// layout.cu — dst[dstOffset + Σ i_d·s.c[d]] = src[srcOffset + Σ (i_d mod mod_d)·s.a[d]] over s.shape; mod_d = 0: no modulo.
// elemBytes 4 or 1. Transpose, slice, concat, pack/unpack, split, pad, tile are this one copy.
void stridedCopy(int elemBytes, const void* src, int64_t srcOffset, void* dst, int64_t dstOffset, const Strides& s, const int64_t* mod);

// reduce.cu — per row of `cols` float32s: op 0 sum, 1 mean, 2 max, 3 min, 4 prod → y [rows];
// 5 argmax, 6 argmin → int32 y (the first index of the extreme, as tfjs).
void reduceRows(int op, const float* x, void* y, int64_t rows, int64_t cols);
// softmax.cu — rows of `cols`: softmax (logSoftmax false) or log-softmax
void softmaxRows(const float* x, float* y, int64_t rows, int64_t cols, bool logSoftmax);

// gather.cu — out[o, j, k] = x[o, idx[j], k] (x [outer, N, inner]); an index outside [0, N) gives zeros
void gather(int elemBytes, const void* x, const int32_t* idx, void* out, int64_t outer, int64_t N, int64_t nIdx, int64_t inner);
// out[s, k] = Σ_{i : ids[i] = s} x[i, k] (x [n, inner], out [segments, inner]); ids outside [0, segments) are dropped
void unsortedSegmentSum(const float* x, const int32_t* ids, float* out, int64_t n, int64_t inner, int64_t segments);
}  // namespace dcf
