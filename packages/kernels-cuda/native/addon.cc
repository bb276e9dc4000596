// The N-API entry points, the same for the device build (dcformer_cuda.node) and the host build
// (dcformer_cuda_host.node): each takes host typed arrays — checks their lengths against the
// dimensions, copies inputs to device memory, runs the kernel, and copies outputs back — or, in
// place of any array, a device buffer handle used without a copy (call.h). In the host
// build "device memory" is malloc'd (runtime-host.cc), so this file runs the same way in CI.
// Errors throw JS errors that name the function and argument, with `code` 'shape' (an array's type or
// length, a size beyond a kernel's limits), 'input' (a value out of range) or 'kernel' (no device, a
// CUDA error); nothing here aborts the process.
#include <node_api.h>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>
#include "call.h"
#include "kernels.h"
#include "runtime.h"

namespace dcf {
namespace {

// status() → { available, reason, variant, device, gemm }
napi_value Status(napi_env env, napi_callback_info) {
  const std::string why = deviceStatus();
  napi_value o, available;
  napi_create_object(env, &o);
  napi_get_boolean(env, why.empty(), &available);
  napi_set_named_property(env, o, "available", available);
  napi_set_named_property(env, o, "reason", str(env, why));
  napi_set_named_property(env, o, "variant", str(env, variant()));
  napi_set_named_property(env, o, "device", str(env, deviceName()));
  napi_set_named_property(env, o, "gemm", str(env, why.empty() ? gemmBackend() : "none"));
  return o;
}

// gemm(a, b, c, batch, M, N, K, transA, transB, strideA, strideB): strides 0 broadcast
napi_value Gemm(napi_env env, napi_callback_info info) {
  Call c(env, info, "gemm", 11);
  const int64_t batch = c.i64(3, "batch"), M = c.i64(4, "M"), N = c.i64(5, "N"), K = c.i64(6, "K");
  const bool ta = c.boolean(7, "transA"), tb = c.boolean(8, "transB");
  const int64_t sa = c.i64(9, "strideA"), sb = c.i64(10, "strideB");
  const int64_t lastA = batch > 0 ? (batch - 1) * sa + M * K : 0, lastB = batch > 0 ? (batch - 1) * sb + K * N : 0;
  const float* a = c.in<float>(0, "a", lastA);
  const float* b = c.in<float>(1, "b", lastB);
  float* out = c.out(2, "c", batch * M * N);
  if (c.ready() && batch * M * N > 0) c.check(gemm(a, b, out, batch, M, N, K, ta, tb, sa, sb));
  return c.finish();
}

ComposeDims composeDims(Call& c, size_t first) {
  ComposeDims d{c.i64(first, "B"), c.i64(first + 1, "N"), c.i64(first + 2, "T"), c.i64(first + 3, "S"), c.i64(first + 4, "I"),
                c.i64(first + 5, "bandQ", true), c.i64(first + 6, "bandK", true), c.i64(first + 7, "bandW", true)};
  if (!c.failed() && (d.N > kComposeMaxN || d.I > kComposeMaxI))
    c.fail("shape", "supports N ≤ " + std::to_string(kComposeMaxN) + " and I ≤ " + std::to_string(kComposeMaxI) + "; got N = " +
                        std::to_string(d.N) + ", I = " + std::to_string(d.I));
  return d;
}

// composeForward(x, qw1, qw2, qdd, kw1, kw2, kdd, out, B, N, T, S, I, bandQ, bandK, bandW); an absent side is null
napi_value ComposeForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "composeForward", 16);
  const ComposeDims d = composeDims(c, 8);
  const int64_t nx = d.B * d.N * d.T * d.S, nq = d.B * d.T * d.I * d.N, nk = d.B * d.S * d.I * d.N;
  const float* x = c.in<float>(0, "x", nx);
  const float* qw1 = c.in<float>(1, "qw1", nq, true);
  const float* qw2 = c.in<float>(2, "qw2", nq, true);
  const float* qdd = c.in<float>(3, "qdd", d.B * d.T * d.N, true);
  const float* kw1 = c.in<float>(4, "kw1", nk, true);
  const float* kw2 = c.in<float>(5, "kw2", nk, true);
  const float* kdd = c.in<float>(6, "kdd", d.B * d.S * d.N, true);
  float* out = c.out(7, "out", nx);
  if (c.ready() && nx > 0) composeForward(x, qw1, qw2, qdd, kw1, kw2, kdd, out, d);
  return c.finish();
}

// composeBackward(x, qw1, qw2, qdd, kw1, kw2, kdd, dy, dx, dqw1, dqw2, dqdd, dkw1, dkw2, dkdd, B, N, T, S, I, bandQ, bandK, bandW)
napi_value ComposeBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "composeBackward", 23);
  const ComposeDims d = composeDims(c, 15);
  const int64_t nx = d.B * d.N * d.T * d.S, nq = d.B * d.T * d.I * d.N, nk = d.B * d.S * d.I * d.N;
  const float* x = c.in<float>(0, "x", nx);
  const float* qw1 = c.in<float>(1, "qw1", nq, true);
  const float* qw2 = c.in<float>(2, "qw2", nq, true);
  const float* qdd = c.in<float>(3, "qdd", d.B * d.T * d.N, true);
  const float* kw1 = c.in<float>(4, "kw1", nk, true);
  const float* kw2 = c.in<float>(5, "kw2", nk, true);
  const float* kdd = c.in<float>(6, "kdd", d.B * d.S * d.N, true);
  const float* dy = c.in<float>(7, "dy", nx);
  float* dx = c.out(8, "dx", nx);
  float* dqw1 = c.out(9, "dqw1", nq, true);
  float* dqw2 = c.out(10, "dqw2", nq, true);
  float* dqdd = c.out(11, "dqdd", d.B * d.T * d.N, true);
  float* dkw1 = c.out(12, "dkw1", nk, true);
  float* dkw2 = c.out(13, "dkw2", nk, true);
  float* dkdd = c.out(14, "dkdd", d.B * d.S * d.N, true);
  // a side is on when its three weights are given; its three gradients must be given with them
  const bool q = qw1 != nullptr && qw2 != nullptr && qdd != nullptr, k = kw1 != nullptr && kw2 != nullptr && kdd != nullptr;
  if (!c.failed() && ((qw1 || qw2 || qdd) && !q)) c.fail("shape", "'qw1', 'qw2', 'qdd' must be all given or all null");
  if (!c.failed() && ((kw1 || kw2 || kdd) && !k)) c.fail("shape", "'kw1', 'kw2', 'kdd' must be all given or all null");
  if (!c.failed() && (q != (dqw1 && dqw2 && dqdd) || k != (dkw1 && dkw2 && dkdd)))
    c.fail("shape", "each side's gradient arrays must be given exactly when its weights are");
  if (c.ready() && nx > 0) composeBackward(x, qw1, qw2, qdd, kw1, kw2, kdd, dy, dx, dqw1, dqw2, dqdd, dkw1, dkw2, dkdd, d);
  return c.finish();
}

// rmsNormForward(x, weight, y, rows, D, eps)
napi_value RmsNormForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "rmsNormForward", 6);
  const int64_t rows = c.i64(3, "rows"), D = c.i64(4, "D");
  const float eps = static_cast<float>(c.f64(5, "eps"));
  const float* x = c.in<float>(0, "x", rows * D);
  const float* w = c.in<float>(1, "weight", D);
  float* y = c.out(2, "y", rows * D);
  if (c.ready()) rmsNormForward(x, w, y, rows, D, eps);
  return c.finish();
}

// rmsNormBackward(x, weight, dy, dx, dweight, rows, D, eps)
napi_value RmsNormBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "rmsNormBackward", 8);
  const int64_t rows = c.i64(5, "rows"), D = c.i64(6, "D");
  const float eps = static_cast<float>(c.f64(7, "eps"));
  const float* x = c.in<float>(0, "x", rows * D);
  const float* w = c.in<float>(1, "weight", D);
  const float* dy = c.in<float>(2, "dy", rows * D);
  float* dx = c.out(3, "dx", rows * D);
  float* dw = c.out(4, "dweight", D);
  float* inv = c.scratch(rows);
  if (c.ready()) rmsNormBackward(x, w, dy, dx, dw, inv, rows, D, eps);
  return c.finish();
}

// geluForward(x, y, n)
napi_value GeluForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "geluForward", 3);
  const int64_t n = c.i64(2, "n");
  const float* x = c.in<float>(0, "x", n);
  float* y = c.out(1, "y", n);
  if (c.ready()) geluForward(x, y, n);
  return c.finish();
}

// geluBackward(x, dy, dx, n)
napi_value GeluBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "geluBackward", 4);
  const int64_t n = c.i64(3, "n");
  const float* x = c.in<float>(0, "x", n);
  const float* dy = c.in<float>(1, "dy", n);
  float* dx = c.out(2, "dx", n);
  if (c.ready()) geluBackward(x, dy, dx, n);
  return c.finish();
}

// rope(x, cos, sin, out, B, T, N, E, H, tableRows): cos/sin [tableRows ∈ {1, B}, T, H]
napi_value Rope(napi_env env, napi_callback_info info) {
  Call c(env, info, "rope", 10);
  const int64_t B = c.i64(4, "B"), T = c.i64(5, "T"), N = c.i64(6, "N"), E = c.i64(7, "E"), H = c.i64(8, "H"), rows = c.i64(9, "tableRows");
  if (!c.failed() && (2 * H > E || (rows != 1 && rows != B)))
    c.fail("shape", "needs 2·H ≤ E and tableRows 1 or B; got H = " + std::to_string(H) + ", E = " + std::to_string(E) + ", tableRows = " +
                        std::to_string(rows) + ", B = " + std::to_string(B));
  const float* x = c.in<float>(0, "x", B * T * N * E);
  const float* cs = c.in<float>(1, "cos", rows * T * H);
  const float* sn = c.in<float>(2, "sin", rows * T * H);
  float* out = c.out(3, "out", B * T * N * E);
  if (c.ready()) rope(x, cs, sn, out, B, T, N, E, H, rows);
  return c.finish();
}

// adamW(param, grad, m, v, pOut, mOut, vOut, n, gradScale, decay, beta1, beta2, eps, stepSize, bc2Sqrt)
napi_value AdamW(napi_env env, napi_callback_info info) {
  Call c(env, info, "adamW", 15);
  const int64_t n = c.i64(7, "n");
  double h[7];
  const char* names[7] = {"gradScale", "decay", "beta1", "beta2", "eps", "stepSize", "bc2Sqrt"};
  for (int j = 0; j < 7; j++) h[j] = c.f64(8 + j, names[j]);
  const float* p = c.in<float>(0, "param", n);
  const float* g = c.in<float>(1, "grad", n);
  const float* m = c.in<float>(2, "m", n);
  const float* v = c.in<float>(3, "v", n);
  float* pOut = c.out(4, "pOut", n);
  float* mOut = c.out(5, "mOut", n);
  float* vOut = c.out(6, "vOut", n);
  if (c.ready()) adamW(p, g, m, v, pOut, mOut, vOut, n, float(h[0]), float(h[1]), h[2], h[3], float(h[4]), float(h[5]), float(h[6]));
  return c.finish();
}

// crossEntropyForward(logits, labels, loss, lse, R, V)
napi_value CrossEntropyForward(napi_env env, napi_callback_info info) {
  Call c(env, info, "crossEntropyForward", 6);
  const int64_t R = c.i64(4, "R"), V = c.i64(5, "V");
  const float* x = c.in<float>(0, "logits", R * V);
  const int32_t* labels = c.in<int32_t>(1, "labels", R);
  float* loss = c.out(2, "loss", R);
  float* lse = c.out(3, "lse", R);
  if (c.ready()) crossEntropyForward(x, labels, loss, lse, R, V);
  return c.finish();
}

// crossEntropyBackward(logits, labels, lse, dy, dlogits, R, V)
napi_value CrossEntropyBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, "crossEntropyBackward", 7);
  const int64_t R = c.i64(5, "R"), V = c.i64(6, "V");
  const float* x = c.in<float>(0, "logits", R * V);
  const int32_t* labels = c.in<int32_t>(1, "labels", R);
  const float* lse = c.in<float>(2, "lse", R);
  const float* dy = c.in<float>(3, "dy", R);
  float* dx = c.out(4, "dlogits", R * V);
  if (c.ready()) crossEntropyBackward(x, labels, lse, dy, dx, R, V);
  return c.finish();
}

// dynamicWeights(x, dw1, qkw, dd, w1, w2, ddOut, X, D, K, I, N)
napi_value DynamicWeights(napi_env env, napi_callback_info info) {
  Call c(env, info, "dynamicWeights", 12);
  const int64_t X = c.i64(7, "X"), D = c.i64(8, "D"), K = c.i64(9, "K"), I = c.i64(10, "I"), N = c.i64(11, "N");
  if (!c.failed() && (K > kDynamicMaxK || N > kComposeMaxN))
    c.fail("shape", "supports K ≤ " + std::to_string(kDynamicMaxK) + " and N ≤ " + std::to_string(kComposeMaxN) + "; got K = " +
                        std::to_string(K) + ", N = " + std::to_string(N));
  const float* x = c.in<float>(0, "x", X * D);
  const float* dw1 = c.in<float>(1, "dw1", D * 4 * K);
  const float* qkw = c.in<float>(2, "qkw", 4 * K * 2 * I * N);
  const float* ddW = c.in<float>(3, "dd", D * 4 * N);
  float* w1 = c.out(4, "w1", 4 * X * I * N);
  float* w2 = c.out(5, "w2", 4 * X * I * N);
  float* dd = c.out(6, "ddOut", X * 4 * N);
  if (c.ready()) dynamicWeights(x, dw1, qkw, ddW, w1, w2, dd, X, D, K, I, N);
  return c.finish();
}

// decodeAttention(q, k, v, preQw1, preQw2, preQdd, preKw1, preKw2, preKdd, postQw1, postQw2, postQdd, postKw1, postKw2, postKdd,
//                 lo, out, B, N, S, E, I, scale)
napi_value DecodeAttention(napi_env env, napi_callback_info info) {
  Call c(env, info, "decodeAttention", 23);
  const int64_t B = c.i64(17, "B"), N = c.i64(18, "N"), S = c.i64(19, "S"), E = c.i64(20, "E"), I = c.i64(21, "I");
  const float scale = static_cast<float>(c.f64(22, "scale"));
  if (!c.failed() && (N > kComposeMaxN || I > kComposeMaxI))
    c.fail("shape", "supports N ≤ " + std::to_string(kComposeMaxN) + " and I ≤ " + std::to_string(kComposeMaxI));
  const float* q = c.in<float>(0, "q", B * N * E);
  const float* k = c.in<float>(1, "k", B * N * S * E);
  const float* v = c.in<float>(2, "v", B * N * S * E);
  const char* names[12] = {"preQw1", "preQw2", "preQdd", "preKw1", "preKw2", "preKdd", "postQw1", "postQw2", "postQdd", "postKw1", "postKw2", "postKdd"};
  const int64_t sizes[6] = {B * I * N, B * I * N, B * N, B * S * I * N, B * S * I * N, B * S * N};
  const float* w[12];
  for (int j = 0; j < 12; j++) w[j] = c.in<float>(3 + j, names[j], sizes[j % 6], true);
  // every row must see a key: a softmax over no keys has no value
  const int32_t* loHost = c.hostArray<int32_t>(15, "lo", B);
  for (int64_t b = 0; loHost != nullptr && b < B; b++)
    if (loHost[b] < 0 || loHost[b] >= S) {
      c.fail("input", "'lo' values must be in [0, S = " + std::to_string(S) + "); got lo[" + std::to_string(b) + "] = " + std::to_string(loHost[b]));
      break;
    }
  const int32_t* lo = c.in<int32_t>(15, "lo", B);
  float* out = c.out(16, "out", B * N * E);
  float* scratch = c.scratch(2 * B * N * S);
  const ComposeSide pre{w[0], w[1], w[2], w[3], w[4], w[5]}, post{w[6], w[7], w[8], w[9], w[10], w[11]};
  if (c.ready() && B * N * S > 0) decodeAttention(q, k, v, pre, post, lo, out, scratch, B, N, S, E, I, scale);
  return c.finish();
}

}  // namespace

void defineOps(napi_env env, napi_value exports);  // addon-ops.cc

namespace {

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"status", nullptr, Status, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"composeForward", nullptr, ComposeForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"composeBackward", nullptr, ComposeBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rmsNormForward", nullptr, RmsNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rmsNormBackward", nullptr, RmsNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"geluForward", nullptr, GeluForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"geluBackward", nullptr, GeluBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rope", nullptr, Rope, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamW", nullptr, AdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyForward", nullptr, CrossEntropyForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyBackward", nullptr, CrossEntropyBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dynamicWeights", nullptr, DynamicWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"decodeAttention", nullptr, DecodeAttention, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  defineOps(env, exports);
  return exports;
}

}  // namespace
}  // namespace dcf

NAPI_MODULE(NODE_GYP_MODULE_NAME, dcf::Init)
