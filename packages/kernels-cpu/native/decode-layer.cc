// One DCFormer++ / Transformer++ / DCPythia block for one decode position of B ≤ 8 sequences
// (T = 1), in a single call (the decode-layer contract of @dcformer/kernels): norm, wqkv, QK-norm,
// RoPE, DCMHA's dynamic weights, the cache row, decode attention, wo, norm, the MLP (SwiGLU, or
// DCPythia's GELU MLP with biases and its parallel residual), both residual adds. A decode step
// through tfjs ran ~50 kernels per layer, each costing 10–30 µs of bookkeeping whatever its size:
// ~45 ms of a 2.8B-shaped int4 step of ~111 ms on a 2-core AMD EPYC Zen 5 VM (AVX-512). Here a
// layer is one N-API call, and the weight products are ~86% of a step (docs/benchmarks.md).
//
// Each piece computes what the kernel the tfjs path runs computes, in the same order: the weight
// products go through the same GEMM / compact-matmul drivers (gemm::runCurrent, qgemm::run) with
// the same problem shapes, the attention through attentionDecodeForward, RMSNorm, GELU, sigmoid and
// tanh by the formulas of rms-norm.cc, gelu.cc and elementwise.cc, LayerNorm as layers.ts' tfjs ops
// (elementwise.cc's sums), RoPE without FMA contraction as rope.cc. So a block equals the tfjs path's
// up to the vectorisation of a few sums.
//
// The cache keeps positions in rows of preallocated buffers: k and v [B, N, cap, E] (one run of
// rows per row and head), the key-side dynamic weights [B, cap, I, N] / [B, cap, N]. The caller owns
// them, makes room for row first + count, and moves rows when a window slides (cache.ts).
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "attention-decode.h"
#include "common.h"
#include "gemm.h"
#include "qgemm.h"
#include "vexp.h"

namespace dcf {
namespace {

// A weight matrix: format −1 float32 [N,K] (nn.Linear's (out, in)), −2 float32 [K,N] (DCMHA's dw1 /
// dd of a float model, stored input-major), 0..3 a compact format of qgemm.h ([N,K], packed rows).
struct Mat {
  int format = -3;  // −3: absent
  const void* data = nullptr;
  const float* scales = nullptr;
  int64_t N = 0, K = 0, G = 0;
  bool present() const { return format != -3; }
};

// y[M,N] = x[M,K]·Wᵀ: the problem the tfjs path's BatchMatMul / DcCompactMatMul runs
void matvec(const Mat& m, const float* x, float* y, int64_t M) {
  if (m.format < 0) {
    const gemm::Problem p{x, static_cast<const float*>(m.data), y, 1, M, m.N, m.K, false, m.format == -1, 0, 0};
    gemm::runCurrent(p);
  } else {
    qgemm::Problem p{m.format, x, static_cast<const uint8_t*>(m.data), m.scales, y, M, m.N, m.K, m.G};
    qgemm::run(p);
  }
}

// rms-norm.cc's forward for one row: x·(1/√(mean(x²) + eps))·w; w null: unit weight
void rmsNormRow(const float* x, const float* w, float* y, int64_t D, float eps) {
  float ss = 0;
#pragma omp simd reduction(+ : ss)
  for (int64_t j = 0; j < D; j++) ss += x[j] * x[j];
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(D) + eps);
  if (w == nullptr) {
    for (int64_t j = 0; j < D; j++) y[j] = (x[j] * inv) * 1.0f;
  } else {
#pragma omp simd
    for (int64_t j = 0; j < D; j++) y[j] = (x[j] * inv) * w[j];
  }
}

// rope.cc's "half" layout on one head, without FMA contraction (bit for bit the reference's ops)
__attribute__((optimize("fp-contract=off"))) void ropeHead(float* x, const float* c, const float* s, int64_t H) {
  for (int64_t j = 0; j < H; j++) {
    const float a = x[j], b = x[H + j];
    x[j] = a * c[j] - b * s[j];
    x[H + j] = b * c[j] + a * s[j];
  }
}

// layers.ts' layerNorm from elementwise.cc's kernels: mean and biased variance as Reduce's sequential
// sums, (x − mean)·rsqrt(var + eps)·w + b, each op rounded on its own (no FMA contraction)
__attribute__((optimize("fp-contract=off"))) void layerNormRow(const float* x, const float* w, const float* b,
                                                               float* y, int64_t D, float eps) {
  float mean = 0;
  for (int64_t j = 0; j < D; j++) mean += x[j];
  mean /= static_cast<float>(D);
  float var = 0;
  for (int64_t j = 0; j < D; j++) {
    const float d = x[j] - mean;
    var += d * d;
  }
  var /= static_cast<float>(D);
  const float inv = 1.0f / std::sqrt(var + eps);
  for (int64_t j = 0; j < D; j++) y[j] = ((x[j] - mean) * inv) * w[j] + b[j];
}

// gelu.cc's exact GELU (Abramowitz–Stegun erf)
inline float gelu(float x) {
  const float z = x * 0.70710678118654752f;
  const float a = __builtin_fabsf(z);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float y = 1.0f - poly * vexpFlush(-a * a);
  return 0.5f * x * (1.0f + (z < 0.0f ? -y : y));
}

enum Flags : int { kQkNorm = 1, kDcmha = 2, kQueryWise = 4, kKeyWise = 8, kLayerNorm = 16, kParallel = 32, kGeluMlp = 64 };

constexpr int64_t kMaxRows = 8;  // the decode products' fused rows (qgemm kFusedRows, gemm skinny)

// Wall time per phase of the block, summed over calls while DCFORMER_DECODE_LAYER_PROFILE=1 (read and
// reset by decodeLayerProfile(); apps/bench's decode-step-profile prints it). Off: one branch per phase.
enum Phase : int { pNorms, pWqkv, pQkRope, pDynProj, pDynWeights, pCacheRow, pAttention, pWo, pW13, pSwiglu, pW2, kPhases };
const char* const kPhaseNames[kPhases] = {"norms + residuals", "wqkv", "qk-norm + rope", "dw1|dd", "dynamic weights",
                                          "cache row", "attention", "wo", "w1|w3", "activation", "w2"};
double phaseNs[kPhases] = {};
int64_t profiledCalls = 0;
const bool profiling = [] {
  const char* env = std::getenv("DCFORMER_DECODE_LAYER_PROFILE");
  return env != nullptr && std::strcmp(env, "1") == 0;
}();

// Adds the time since the last mark to `phase` (when profiling).
class Marks {
 public:
  Marks() : last_(profiling ? now() : 0) {}
  void operator()(Phase phase) {
    if (!profiling) return;
    const double t = now();
    phaseNs[phase] += t - last_;
    last_ = t;
  }

 private:
  static double now() {
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  double last_;
};

// Slots of the arrays / params lists (decode-layer.ts writes them in this order).
enum MatSlot : int { kWqkv, kWo, kW1, kW3, kW2, kDw1, kDd, kMats };
enum ArraySlot : int {
  kX,
  kAttnNorm,
  kFfnNorm,
  kQNorm,
  kKNorm,
  kCos,
  kSin,
  kQkw,
  kKCache,
  kVCache,
  kSide0,  // pre kw1, kw2, kdd, post kw1, kw2, kdd
  kAttnNormBias = kSide0 + 6,  // DCPythia: LayerNorm and linear biases
  kFfnNormBias,
  kBqkv,
  kBo,
  kB1,
  kB2,
  kKeyStart,  // [B]: the absolute position of each row's first real key (left padding), or null
  kArrays
};
enum Param : int { kB, kD, kN, kE, kH, kF, kI, kC, kNormEps, kQkEps, kFlags, kWindow, kPos, kKOff, kFirst, kCount, kCap, kParams };

struct Layer {
  Mat m[kMats];
  float* a[kArrays] = {};
  size_t len[kArrays] = {};
  double p[kParams] = {};
};

bool isNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return v == nullptr || napi_typeof(env, v, &t) != napi_ok || t == napi_null || t == napi_undefined;
}

// A typed array's data and element count; false when `v` is not a typed array of `want`.
bool typedOf(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  return napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) == napi_ok && type == want;
}

// `v` as a typed array of `want` (data and element count), or null; false when it is something else.
bool optionalTyped(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  *data = nullptr;
  *length = 0;
  return typedOf(env, v, want, data, length) || isNullish(env, v);
}

// Reads the arguments: params, then the arrays, each its own argument (one napi call per array
// instead of reading nested lists element by element); an empty string or why not.
constexpr size_t kArgs = 1 + kArrays + 2 * kMats;

std::string readLayer(napi_env env, const napi_value* args, Layer& L) {
  const napi_value params = args[0];
  const napi_value* arrays = args + 1;
  void* data;
  size_t n;
  if (!typedOf(env, params, napi_float64_array, &data, &n) || n != kParams + 4 * kMats)
    return "params must be a Float64Array of " + std::to_string(kParams + 4 * kMats);
  const double* p = static_cast<const double*>(data);
  std::memcpy(L.p, p, sizeof(L.p));
  for (uint32_t i = 0; i < kArrays; i++) {
    if (!optionalTyped(env, arrays[i], napi_float32_array, &data, &L.len[i]))
      return "arrays[" + std::to_string(i) + "] must be a Float32Array or null";
    L.a[i] = static_cast<float*>(data);
  }
  for (uint32_t i = 0; i < kMats; i++) {
    Mat& m = L.m[i];
    const double* d = p + kParams + 4 * i;
    if (d[0] == -3) continue;  // absent
    for (int j = 0; j < 4; j++)
      if (!std::isfinite(d[j]) || std::fabs(d[j]) > 1 << 30) return "matrix " + std::to_string(i) + ": bad format or size";
    m.format = static_cast<int>(d[0]);
    m.N = static_cast<int64_t>(d[1]);
    m.K = static_cast<int64_t>(d[2]);
    m.G = static_cast<int64_t>(d[3]);
    auto at = [&](const char* what) { return "matrix " + std::to_string(i) + ": " + what; };
    if (m.format < -2 || m.format > qgemm::kInt4 || m.N < 1 || m.K < 1) return at("bad format or size");
    const uint32_t slot = kArrays + 2 * i;
    const bool quantized = m.format >= qgemm::kInt8;
    if (quantized && (m.G < 32 || m.G % 32 != 0 || m.K % m.G != 0)) return at("bad group size");
    const bool ok = m.format < 0 ? optionalTyped(env, arrays[slot], napi_float32_array, &data, &n) &&
                                       static_cast<int64_t>(n) == m.N * m.K
                                 : optionalTyped(env, arrays[slot], napi_int32_array, &data, &n) &&
                                       static_cast<int64_t>(n) * 4 == m.N * qgemm::rowBytes(m.format, m.K);
    if (!ok || data == nullptr) return at(m.format < 0 ? "float32 data of N·K elements expected"
                                                       : "packed Int32Array of N·rowBytes/4 words expected");
    m.data = data;
    if (quantized) {
      void* sd;
      if (!optionalTyped(env, arrays[slot + 1], napi_float32_array, &sd, &n) || sd == nullptr ||
          static_cast<int64_t>(n) != m.N * (m.K / m.G))
        return at("scales of N·K/G floats expected");
      m.scales = static_cast<const float*>(sd);
    }
  }
  return "";
}

// Every size the block reads, against the lists' lengths: the addon must not read out of bounds
// whatever the caller passes.
std::string checkLayer(const Layer& L) {
  // every size below is an integer of at most 2^30, so no product of three of them overflows
  for (double v : L.p)
    if (!std::isfinite(v) || std::fabs(v) > 1 << 30) return "bad sizes";
  const int64_t B = L.p[kB], D = L.p[kD], N = L.p[kN], E = L.p[kE], H = L.p[kH], F = L.p[kF], I = L.p[kI],
                C = L.p[kC];
  const int64_t first = L.p[kFirst], count = L.p[kCount], cap = L.p[kCap];
  const int flags = static_cast<int>(L.p[kFlags]);
  if (B < 1 || B > kMaxRows || D < 1 || N < 1 || E < 1 || N * E != D || H < 0 || 2 * H > E || F < 1 || first < 0 ||
      count < 0 || first + count >= cap)
    return "bad sizes";
  auto len = [&](int slot, int64_t want) { return L.a[slot] != nullptr && static_cast<int64_t>(L.len[slot]) == want; };
  auto mat = [&](int slot, int64_t rows, int64_t cols) {
    const Mat& m = L.m[slot];
    return m.present() && m.N == rows && m.K == cols;
  };
  if (!len(kX, B * D) || !len(kAttnNorm, D) || !len(kFfnNorm, D) || !len(kCos, B * H) || !len(kSin, B * H))
    return "x, norms or rope";
  if (L.a[kKeyStart] != nullptr && !len(kKeyStart, B)) return "keyStart";
  if ((flags & kLayerNorm) && (!len(kAttnNormBias, D) || !len(kFfnNormBias, D))) return "norm biases";
  auto bias = [&](int slot, int64_t n) { return L.a[slot] == nullptr || static_cast<int64_t>(L.len[slot]) == n; };
  if (!bias(kBqkv, 3 * D) || !bias(kBo, D) || !bias(kB1, F) || !bias(kB2, D)) return "linear biases";
  if (!len(kKCache, B * N * cap * E) || !len(kVCache, B * N * cap * E)) return "k/v cache";
  if ((flags & kQkNorm) && (!len(kQNorm, E) || !len(kKNorm, E))) return "q/k norm";
  if (!mat(kWqkv, 3 * D, D) || !mat(kWo, D, D) || !mat(kW2, D, F)) return "wqkv, wo or w2";
  if (flags & kGeluMlp ? !mat(kW1, F, D) || L.m[kW3].present()
                       : L.m[kW3].present() ? !mat(kW1, F, D) || !mat(kW3, F, D) : !mat(kW1, 2 * F, D))
    return "w1/w3";
  if (flags & kDcmha) {
    if (I < 1 || I > 4 || C < 1 || !len(kQkw, 4 * C * 2 * I * N)) return "qkw";
    if (L.m[kDd].present() ? !mat(kDw1, 4 * C, D) || !mat(kDd, 4 * N, D) : !mat(kDw1, 4 * C + 4 * N, D)) return "dw1/dd";
    if (flags & kKeyWise)
      for (int s = 0; s < 6; s++)
        if (!len(kSide0 + s, B * cap * (s % 3 == 2 ? N : I * N))) return "key-side cache";
  }
  return "";
}

void addBias(float* y, const float* b, int64_t rows, int64_t n) {
  if (b != nullptr)
    for (int64_t r = 0; r < rows; r++)
      for (int64_t j = 0; j < n; j++) y[r * n + j] = y[r * n + j] + b[j];
}

// `rows` rows of x [rows, D] normed into y
void norm(const Layer& L, int flags, int weight, int bias, const float* x, float* y, int64_t rows) {
  const int64_t D = L.p[kD];
  const float eps = static_cast<float>(L.p[kNormEps]);
  for (int64_t r = 0; r < rows; r++) {
    if (flags & kLayerNorm) layerNormRow(x + r * D, L.a[weight], L.a[bias], y + r * D, D, eps);
    else rmsNormRow(x + r * D, L.a[weight], y + r * D, D, eps);
  }
}

// Scratch of one call, carved from one thread-local buffer.
struct Work {
  float *n, *o, *qkv, *q, *y, *gu, *act, *dyn, *dd, *hidden, *w, *qside, *stats;
};

Work carve(int64_t B, int64_t D, int64_t F, int64_t C, int64_t N, int64_t J, int64_t I) {
  thread_local std::vector<float> buf;
  const int64_t sizes[] = {B * D, B * D, B * 3 * D, B * D, B * D, B * 2 * F, B * F, B * (4 * C + 4 * N),
                           B * 4 * N, 4 * B * C, 4 * B * J, 2 * B * (2 * I * N + N), B * N * 2};
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  if (buf.size() < static_cast<size_t>(total)) buf.resize(static_cast<size_t>(total));  // every piece is written before it is read
  float* at = buf.data();
  float* p[13];
  for (int i = 0; i < 13; i++) {
    p[i] = at;
    at += sizes[i];
  }
  return {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]};
}

// SwiGLU for B rows: w1·x and w3·x (or both stacked, [B, 2F] with w1's half first) into gu, then
// act = silu(gate)·up as tf.mul(silu, up)
void gateUp(const Layer& L, const float* n, float* gu, int64_t B, int64_t F) {
  matvec(L.m[kW1], n, gu, B);
  if (L.m[kW3].present()) matvec(L.m[kW3], n, gu + B * F, B);
}

void siluMul(const Layer& L, const float* gu, float* act, int64_t B, int64_t F) {
  const bool stacked = !L.m[kW3].present();
  for (int64_t r = 0; r < B; r++)
    for (int64_t j = 0; j < F; j++) {
      const float g = stacked ? gu[r * 2 * F + j] : gu[r * F + j];
      const float up = stacked ? gu[r * 2 * F + F + j] : gu[B * F + r * F + j];
      act[r * F + j] = (g * (1.0f / (1.0f + vexpFlush(-g)))) * up;
    }
}

void block(const Layer& L) {
  const int64_t B = L.p[kB], D = L.p[kD], N = L.p[kN], E = L.p[kE], H = L.p[kH], F = L.p[kF], I = L.p[kI],
                C = L.p[kC];
  const int64_t first = L.p[kFirst], count = L.p[kCount], cap = L.p[kCap], row = first + count;
  const int flags = static_cast<int>(L.p[kFlags]);
  const bool dcmha = flags & kDcmha, qSide = dcmha && (flags & kQueryWise), kSide = dcmha && (flags & kKeyWise);
  const int64_t J = 2 * I * N;  // one slot's w1 and w2
  float* x = L.a[kX];
  const Work w = carve(B, D, F, C, N, J, I);

  Marks mark;
  norm(L, flags, kAttnNorm, kAttnNormBias, x, w.n, B);
  mark(pNorms);
  matvec(L.m[kWqkv], w.n, w.qkv, B);
  addBias(w.qkv, L.a[kBqkv], B, 3 * D);
  mark(pWqkv);
  for (int64_t b = 0; b < B; b++) {
    float* q = w.qkv + b * 3 * D;
    float* k = q + D;
    const float* cs = L.a[kCos] + b * H;
    const float* sn = L.a[kSin] + b * H;
    for (int64_t h = 0; h < N; h++) {
      if (flags & kQkNorm) {
        const float eps = static_cast<float>(L.p[kQkEps]);
        rmsNormRow(q + h * E, L.a[kQNorm], q + h * E, E, eps);
        rmsNormRow(k + h * E, L.a[kKNorm], k + h * E, E, eps);
      }
      ropeHead(q + h * E, cs, sn, H);
      ropeHead(k + h * E, cs, sn, H);
    }
    std::memcpy(w.q + b * D, q, D * sizeof(float));  // attention reads q as [B, N, E]
  }
  mark(pQkRope);

  // dynamicWeights (compose/dynamic-weights.ts): slot c of SLOTS = preQuery, preKey, postQuery, postKey.
  // hidden [4][B][C] and w [4][B][J] as the tfjs path's batched product over the slots.
  // dw1·x rows of hs floats; dd·x (before tanh) rows of ds floats, after dw1's in the stacked product
  const bool stacked = !L.m[kDd].present();
  const int64_t hs = stacked ? 4 * C + 4 * N : 4 * C;
  const float* ddRaw = stacked ? w.dyn + 4 * C : w.dd;
  const int64_t ds = stacked ? hs : 4 * N;
  if (dcmha) {
    matvec(L.m[kDw1], w.n, w.dyn, B);
    if (!stacked) matvec(L.m[kDd], w.n, w.dd, B);
    mark(pDynProj);
    for (int64_t c = 0; c < 4; c++)
      for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < C; k++) w.hidden[(c * B + b) * C + k] = gelu(w.dyn[b * hs + c * C + k]);
    const gemm::Problem p{w.hidden, L.a[kQkw], w.w, 4, B, J, C, false, false, B * C, C * J};
    gemm::runCurrent(p);
    for (int64_t r = 0; r < 4 * B; r++)
      for (int64_t i = 0; i < I; i++) rmsNormRow(w.w + r * J + i * N, nullptr, w.w + r * J + i * N, N, 1e-6f);
    // the query side in the layout attention reads, [B, I, N] / [B, N] per call
    for (int call = 0; call < 2 && qSide; call++) {
      const int64_t c = 2 * call;  // preQuery, postQuery
      float* q1 = w.qside + call * B * (J + N);
      float* q2 = q1 + B * I * N;
      float* qd = q2 + B * I * N;
      for (int64_t b = 0; b < B; b++) {
        std::memcpy(q1 + b * I * N, w.w + (c * B + b) * J, I * N * sizeof(float));
        std::memcpy(q2 + b * I * N, w.w + (c * B + b) * J + I * N, I * N * sizeof(float));
        for (int64_t n = 0; n < N; n++) qd[b * N + n] = std::tanh(ddRaw[b * ds + c * N + n]);
      }
    }
    mark(pDynWeights);
  }

  // this position's row of the cache: k, v [B, N, cap, E]; the key side [B, cap, I·N] / [B, cap, N]
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < N; h++) {
      const float* src = w.qkv + b * 3 * D + h * E;
      std::memcpy(L.a[kKCache] + ((b * N + h) * cap + row) * E, src + D, E * sizeof(float));
      std::memcpy(L.a[kVCache] + ((b * N + h) * cap + row) * E, src + 2 * D, E * sizeof(float));
    }
  if (kSide) {
    for (int call = 0; call < 2; call++) {
      const int64_t c = 2 * call + 1;  // preKey, postKey
      float* const* side = L.a + kSide0 + 3 * call;
      for (int64_t b = 0; b < B; b++) {
        const int64_t at = b * cap + row;
        std::memcpy(side[0] + at * I * N, w.w + (c * B + b) * J, I * N * sizeof(float));
        std::memcpy(side[1] + at * I * N, w.w + (c * B + b) * J + I * N, I * N * sizeof(float));
        for (int64_t n = 0; n < N; n++) side[2][at * N + n] = std::tanh(ddRaw[b * ds + c * N + n]);
      }
    }
  }
  mark(pCacheRow);

  int32_t keyStart[kMaxRows];
  const bool padded = L.a[kKeyStart] != nullptr;
  for (int64_t b = 0; padded && b < B; b++) keyStart[b] = static_cast<int32_t>(L.a[kKeyStart][b]);
  DecodeCall call{B,
                  N,
                  1,
                  count + 1,
                  E,
                  dcmha ? I : 1,
                  static_cast<int64_t>(L.p[kWindow]),
                  static_cast<int64_t>(L.p[kPos]),
                  static_cast<int64_t>(L.p[kKOff]),
                  padded ? keyStart : nullptr,
                  qSide,
                  kSide,
                  dcmha,
                  1.0f / std::sqrt(static_cast<float>(E)),  // as attention.cc's readGeometry
                  {},
                  cap * E,
                  cap};
  for (int c = 0; c < 2 && dcmha; c++) {
    const float** cw = call.w[c];
    if (qSide) {
      cw[0] = w.qside + c * B * (J + N);
      cw[1] = cw[0] + B * I * N;
      cw[2] = cw[1] + B * I * N;
    }
    if (kSide) {
      float* const* side = L.a + kSide0 + 3 * c;
      cw[3] = side[0] + first * I * N;
      cw[4] = side[1] + first * I * N;
      cw[5] = side[2] + first * N;
    }
  }
  attentionDecodeForward(call, w.q, L.a[kKCache] + first * E, L.a[kVCache] + first * E, w.y, w.stats);
  mark(pAttention);

  matvec(L.m[kWo], w.y, w.o, B);
  addBias(w.o, L.a[kBo], B, D);
  mark(pWo);
  // the MLP reads the block's input (parallel residual, DCPythia) or the attention's residual sum
  if (flags & kParallel) norm(L, flags, kFfnNorm, kFfnNormBias, x, w.n, B);
  for (int64_t j = 0; j < B * D; j++) x[j] = x[j] + w.o[j];
  if (!(flags & kParallel)) norm(L, flags, kFfnNorm, kFfnNormBias, x, w.n, B);
  mark(pNorms);
  if (flags & kGeluMlp) {
    matvec(L.m[kW1], w.n, w.act, B);
    addBias(w.act, L.a[kB1], B, F);
    mark(pW13);
    for (int64_t j = 0; j < B * F; j++) w.act[j] = gelu(w.act[j]);
  } else {
    gateUp(L, w.n, w.gu, B, F);
    mark(pW13);
    siluMul(L, w.gu, w.act, B, F);
  }
  mark(pSwiglu);
  matvec(L.m[kW2], w.act, w.o, B);
  addBias(w.o, L.a[kB2], B, D);
  mark(pW2);
  for (int64_t j = 0; j < B * D; j++) x[j] = x[j] + w.o[j];
  mark(pNorms);
  if (profiling) profiledCalls++;
}

}  // namespace

// decodeLayer(params, ...arrays): one block for one decode position, x updated in place. params: the
// Param values, then each matrix's format (−3 absent), N, K, G; arrays: the ArraySlot arrays, then
// each matrix's data and scales.
napi_value DecodeLayer(napi_env env, napi_callback_info info) {
  size_t argc = kArgs;
  napi_value argv[kArgs];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < kArgs) {
    napi_throw_type_error(env, nullptr,
                          ("dcformer_cpu: decodeLayer expects params and " + std::to_string(kArgs - 1) + " arrays").c_str());
    return nullptr;
  }
  Layer L;
  std::string why = readLayer(env, argv, L);
  if (why.empty()) why = checkLayer(L);
  if (!why.empty()) {
    napi_throw_type_error(env, nullptr, ("dcformer_cpu: decodeLayer: " + why).c_str());
    return nullptr;
  }
  block(L);
  return nullptr;
}

// decodeLayerProfile(): { calls, phases: { name: ms } } summed since the last read (zeros unless
// DCFORMER_DECODE_LAYER_PROFILE=1); resets the sums.
napi_value DecodeLayerProfile(napi_env env, napi_callback_info) {
  napi_value out, phases, v;
  napi_create_object(env, &out);
  napi_create_object(env, &phases);
  for (int i = 0; i < kPhases; i++) {
    napi_create_double(env, phaseNs[i] / 1e6, &v);
    napi_set_named_property(env, phases, kPhaseNames[i], v);
    phaseNs[i] = 0;
  }
  napi_create_int64(env, profiledCalls, &v);
  napi_set_named_property(env, out, "calls", v);
  napi_set_named_property(env, out, "phases", phases);
  profiledCalls = 0;
  return out;
}

}  // namespace dcf
