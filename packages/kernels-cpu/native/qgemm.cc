// N-API entry points of the compact matmul (qgemm.h) and of the read-bandwidth probe the decode
// benchmark compares it with.
#include <omp.h>
#include <string>
#include "common.h"
#include "qgemm.h"

namespace dcf {

// compactMatmul(format, x, w, scales|null, y, M, N, K, G): sizes are checked by the caller
// (packages/kernels-cpu/src/compact-matmul.ts); w is the packed Int32Array, read as bytes.
napi_value CompactMatmul(napi_env env, napi_callback_info info) {
  Args args(env, info, 9);
  const int format = static_cast<int>(args.i64(0));
  const float* x = args.f32(1);
  const int32_t* w = args.i32(2);
  const float* scales = args.f32OrNull(3);
  float* y = args.f32(4);
  const int64_t M = args.i64(5), N = args.i64(6), K = args.i64(7), G = args.i64(8);
  if (args.failed()) return nullptr;
  if (format < qgemm::kBf16 || format > qgemm::kInt4 || M <= 0 || N <= 0 || K <= 0 ||
      (format >= qgemm::kInt8 && (scales == nullptr || G <= 0 || G % 32 != 0 || K % G != 0))) {
    napi_throw_range_error(env, nullptr, "dcformer_cpu: compactMatmul: bad format, sizes or group size");
    return nullptr;
  }
  qgemm::run({format, x, reinterpret_cast<const uint8_t*>(w), scales, y, M, N, K, G});
  return nullptr;
}

napi_value CompactPath(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_string_utf8(env, qgemm::currentPath().name, NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value CompactPaths(napi_env env, napi_callback_info) {
  const qgemm::Path* all[qgemm::kMaxPaths];
  const int n = qgemm::runnablePaths(all, qgemm::kMaxPaths);
  napi_value arr;
  napi_create_array_with_length(env, n, &arr);
  for (int i = 0; i < n; i++) {
    napi_value s;
    napi_create_string_utf8(env, all[i]->name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, i, s);
  }
  return arr;
}

napi_value SetCompactPath(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char name[32] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof(name), &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "dcformer_cpu: setCompactPath(name): name must be a string");
    return nullptr;
  }
  if (!qgemm::setPath(name)) {
    std::string msg = std::string("dcformer_cpu: setCompactPath: '") + name + "' cannot run here; runnable:";
    const qgemm::Path* all[qgemm::kMaxPaths];
    const int n = qgemm::runnablePaths(all, qgemm::kMaxPaths);
    for (int i = 0; i < n; i++) msg += std::string(" ") + all[i]->name;
    napi_throw_error(env, nullptr, msg.c_str());
  }
  return nullptr;
}

// readSum(buf, n): Σ buf over n floats, every thread streaming its contiguous share — the read
// bandwidth the decode benchmark measures (time it from JS; the sum keeps the reads from being
// optimised away). Vectorised by the compiler at the addon's x86-64 level.
napi_value ReadSum(napi_env env, napi_callback_info info) {
  Args args(env, info, 2);
  const float* buf = args.f32(0);
  const int64_t n = args.i64(1);
  if (args.failed()) return nullptr;
  double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t b = 0; b < n; b += 4096) {
    const int64_t e = b + 4096 < n ? b + 4096 : n;
    float s0 = 0;
#pragma omp simd reduction(+ : s0)
    for (int64_t i = b; i < e; i++) s0 += buf[i];
    total += s0;
  }
  napi_value out;
  napi_create_double(env, total, &out);
  return out;
}

}  // namespace dcf
