// Element-wise kernels that tfjs-backend-cpu runs through per-element index arithmetic when shapes
// broadcast or axes are permuted: binary ops with broadcasting, transpose, exp, softmax over the
// last axis. Shapes arrive already collapsed (adjacent dims merged) by the JS side, rank ≤ 6.
#include "common.h"
#include "vexp.h"
#include <cmath>
#include <omp.h>
#include <vector>

namespace dcf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this a parallel region costs more than it saves

std::vector<int64_t> ints(napi_env env, napi_value arr) {
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  std::vector<int64_t> v(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, arr, i, &e);
    napi_get_value_int64(env, e, &v[i]);
  }
  return v;
}

napi_value arg(napi_env env, napi_callback_info info, size_t i) {
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return argv[i];
}

enum Op { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kMax = 4, kMin = 5, kSquaredDiff = 6, kPow = 7 };

template <int OP>
inline float apply(float a, float b) {
  if constexpr (OP == kAdd) return a + b;
  if constexpr (OP == kSub) return a - b;
  if constexpr (OP == kMul) return a * b;
  if constexpr (OP == kDiv) return a / b;
  if constexpr (OP == kMax) return a > b || std::isnan(a) ? a : b;
  if constexpr (OP == kMin) return a < b || std::isnan(a) ? a : b;
  if constexpr (OP == kSquaredDiff) return (a - b) * (a - b);
  if constexpr (OP == kPow) return std::pow(a, b);
  return 0;
}

// out[shape] = a[strides] OP b[strides]; the last dim's strides are 0 or 1 (broadcast or dense).
template <int OP>
void binaryLoop(const float* a, const float* b, float* out, const std::vector<int64_t>& shape,
                const std::vector<int64_t>& sa, const std::vector<int64_t>& sb) {
  const int rank = static_cast<int>(shape.size());
  const int64_t inner = shape[rank - 1];
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  int64_t outer = 1;
  for (int d = 0; d < rank - 1; d++) outer *= shape[d];
#pragma omp parallel for schedule(static) if (outer * inner > kParallelMin && outer > 1)
  for (int64_t o = 0; o < outer; o++) {
    int64_t offA = 0, offB = 0, rest = o;
    for (int d = rank - 2; d >= 0; d--) {
      const int64_t idx = rest % shape[d];
      rest /= shape[d];
      offA += idx * sa[d];
      offB += idx * sb[d];
    }
    const float* pa = a + offA;
    const float* pb = b + offB;
    float* po = out + o * inner;
    if (ia == 1 && ib == 1) {
      for (int64_t j = 0; j < inner; j++) po[j] = apply<OP>(pa[j], pb[j]);
    } else if (ia == 1) {
      const float vb = pb[0];
      for (int64_t j = 0; j < inner; j++) po[j] = apply<OP>(pa[j], vb);
    } else if (ib == 1) {
      const float va = pa[0];
      for (int64_t j = 0; j < inner; j++) po[j] = apply<OP>(va, pb[j]);
    } else {
      const float v = apply<OP>(pa[0], pb[0]);
      for (int64_t j = 0; j < inner; j++) po[j] = v;
    }
  }
}

}  // namespace

// binary(op, a, b, out, shape[], stridesA[], stridesB[])
napi_value Binary(napi_env env, napi_callback_info info) {
  Args args(env, info, 7);
  const int64_t op = args.i64(0);
  const float* a = args.f32(1);
  const float* b = args.f32(2);
  float* out = args.f32(3);
  if (args.failed()) return nullptr;
  const auto shape = ints(env, arg(env, info, 4));
  const auto sa = ints(env, arg(env, info, 5));
  const auto sb = ints(env, arg(env, info, 6));
  switch (op) {
    case kAdd: binaryLoop<kAdd>(a, b, out, shape, sa, sb); break;
    case kSub: binaryLoop<kSub>(a, b, out, shape, sa, sb); break;
    case kMul: binaryLoop<kMul>(a, b, out, shape, sa, sb); break;
    case kDiv: binaryLoop<kDiv>(a, b, out, shape, sa, sb); break;
    case kMax: binaryLoop<kMax>(a, b, out, shape, sa, sb); break;
    case kMin: binaryLoop<kMin>(a, b, out, shape, sa, sb); break;
    case kSquaredDiff: binaryLoop<kSquaredDiff>(a, b, out, shape, sa, sb); break;
    case kPow: binaryLoop<kPow>(a, b, out, shape, sa, sb); break;
    default: napi_throw_range_error(env, nullptr, "dcformer_cpu: unknown binary op");
  }
  return nullptr;
}

// transpose(x, out, shape[], perm[]): out = x permuted; out's last dim is read with x's stride.
napi_value Transpose(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  const float* x = args.f32(0);
  float* out = args.f32(1);
  if (args.failed()) return nullptr;
  const auto shape = ints(env, arg(env, info, 2));
  const auto perm = ints(env, arg(env, info, 3));
  const int rank = static_cast<int>(shape.size());
  std::vector<int64_t> xs(rank), os(rank), st(rank);  // x strides, out shape, x stride per out dim
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) xs[d] = s, s *= shape[d];
  for (int d = 0; d < rank; d++) os[d] = shape[perm[d]], st[d] = xs[perm[d]];
  const int64_t inner = os[rank - 1], innerStride = st[rank - 1];
  const int64_t outer = s / (inner == 0 ? 1 : inner);
  if (s == 0) return nullptr;
#pragma omp parallel for schedule(static) if (s > kParallelMin && outer > 1)
  for (int64_t o = 0; o < outer; o++) {
    int64_t off = 0, rest = o;
    for (int d = rank - 2; d >= 0; d--) {
      off += (rest % os[d]) * st[d];
      rest /= os[d];
    }
    float* po = out + o * inner;
    const float* px = x + off;
    for (int64_t j = 0; j < inner; j++) po[j] = px[j * innerStride];
  }
  return nullptr;
}

// unary(op, x, out): 0 exp, 1 neg, 2 sigmoid, 3 tanh, 4 rsqrt, 5 square, 6 sqrt, 7 log, 8 erf
napi_value Unary(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  const int64_t op = args.i64(0);
  const float* x = args.f32(1);
  float* out = args.f32(2);
  if (args.failed()) return nullptr;
  napi_value arr = arg(env, info, 1);
  size_t n = 0;
  napi_get_typedarray_info(env, arr, nullptr, &n, nullptr, nullptr, nullptr);
#define DCF_UNARY(EXPR)                                                      \
  _Pragma("omp parallel for schedule(static) if (n > kParallelMin)")        \
  for (int64_t i = 0; i < static_cast<int64_t>(n); i++) { const float v = x[i]; out[i] = (EXPR); }
  switch (op) {
    case 0: DCF_UNARY(vexp(v)); break;
    case 1: DCF_UNARY(-v); break;
    case 2: DCF_UNARY(1.0f / (1.0f + vexpFlush(-v))); break;
    case 3: DCF_UNARY(std::tanh(v)); break;
    case 4: DCF_UNARY(1.0f / std::sqrt(v)); break;
    case 5: DCF_UNARY(v * v); break;
    case 6: DCF_UNARY(std::sqrt(v)); break;
    case 7: DCF_UNARY(std::log(v)); break;
    case 8: DCF_UNARY(std::erf(v)); break;
    default: napi_throw_range_error(env, nullptr, "dcformer_cpu: unknown unary op");
  }
#undef DCF_UNARY
  return nullptr;
}

// softmax(x, out, rows, cols): over the last axis, max-subtracted, in float32 like tfjs.
napi_value Softmax(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  const float* x = args.f32(0);
  float* out = args.f32(1);
  const int64_t rows = args.i64(2), cols = args.i64(3);
  if (args.failed()) return nullptr;
#pragma omp parallel for schedule(static) if (rows * cols > kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; r++) {
    const float* px = x + r * cols;
    float* po = out + r * cols;
    const float inv = static_cast<float>(1.0 / sumExp(px, rowMax(px, cols), cols, po));
    for (int64_t j = 0; j < cols; j++) po[j] *= inv;
  }
  return nullptr;
}

// reduce(op, x, out, outer, inner): over the last axis of [outer, inner]; 0 sum, 1 max, 2 min, 3 mean
napi_value Reduce(napi_env env, napi_callback_info info) {
  Args args(env, info, 5);
  const int64_t op = args.i64(0);
  const float* x = args.f32(1);
  float* out = args.f32(2);
  const int64_t outer = args.i64(3), inner = args.i64(4);
  if (args.failed()) return nullptr;
#pragma omp parallel for schedule(static) if (outer * inner > kParallelMin && outer > 1)
  for (int64_t o = 0; o < outer; o++) {
    const float* p = x + o * inner;
    float acc = op == 0 || op == 3 ? 0.0f : p[0];
    if (op == 0 || op == 3) {
      for (int64_t j = 0; j < inner; j++) acc += p[j];
      if (op == 3) acc /= static_cast<float>(inner);
    } else if (op == 1) {
      for (int64_t j = 1; j < inner; j++) acc = p[j] > acc || std::isnan(p[j]) ? p[j] : acc;
    } else {
      for (int64_t j = 1; j < inner; j++) acc = p[j] < acc || std::isnan(p[j]) ? p[j] : acc;
    }
    out[o] = acc;
  }
  return nullptr;
}

}  // namespace dcf
