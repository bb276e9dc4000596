// Argument unpacking for the N-API entry points: typed arrays by pointer, numbers, booleans.
// A wrong argument throws a JS TypeError naming its position instead of crashing the process.
#pragma once
#include <node_api.h>
#include <cstdint>
#include <string>

namespace dcf {

constexpr size_t kMaxArgs = 24;

class Args {
 public:
  Args(napi_env env, napi_callback_info info, size_t count) : env_(env), argc_(kMaxArgs) {
    napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr);
    if (argc_ < count) fail("expected " + std::to_string(count) + " arguments, got " + std::to_string(argc_));
  }
  bool failed() const { return failed_; }

  float* f32(size_t i) { return typed<float>(i, napi_float32_array, "a Float32Array"); }
  int32_t* i32(size_t i) { return typed<int32_t>(i, napi_int32_array, "an Int32Array"); }
  float* f32OrNull(size_t i) {
    napi_valuetype t;
    napi_typeof(env_, argv_[i], &t);
    return (t == napi_null || t == napi_undefined) ? nullptr : f32(i);
  }
  int64_t i64(size_t i) {
    if (failed_) return 0;
    int64_t v = 0;
    if (napi_get_value_int64(env_, argv_[i], &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  double f64(size_t i) {
    if (failed_) return 0;
    double v = 0;
    if (napi_get_value_double(env_, argv_[i], &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return v;
  }
  bool boolean(size_t i) {
    if (failed_) return false;
    bool v = false;
    if (napi_get_value_bool(env_, argv_[i], &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a boolean");
    return v;
  }

 private:
  template <typename T>
  T* typed(size_t i, napi_typedarray_type want, const char* what) {
    if (failed_) return nullptr;
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value buffer;
    size_t offset;
    if (napi_get_typedarray_info(env_, argv_[i], &type, &length, &data, &buffer, &offset) != napi_ok || type != want) {
      fail("argument " + std::to_string(i) + " must be " + what);
      return nullptr;
    }
    return static_cast<T*>(data);
  }
  void fail(const std::string& msg) {
    if (!failed_) napi_throw_type_error(env_, nullptr, ("dcformer_cpu: " + msg).c_str());
    failed_ = true;
  }
  napi_env env_;
  size_t argc_;
  napi_value argv_[kMaxArgs];
  bool failed_ = false;
};

std::string initGemm();
napi_value Gemm(napi_env env, napi_callback_info info);
napi_value GemmPath(napi_env env, napi_callback_info info);
napi_value GemmPaths(napi_env env, napi_callback_info info);
napi_value SetGemmPath(napi_env env, napi_callback_info info);
napi_value Binary(napi_env env, napi_callback_info info);
napi_value Transpose(napi_env env, napi_callback_info info);
napi_value Unary(napi_env env, napi_callback_info info);
napi_value Softmax(napi_env env, napi_callback_info info);
napi_value Reduce(napi_env env, napi_callback_info info);
napi_value ComposeForward(napi_env env, napi_callback_info info);
napi_value ComposeBackward(napi_env env, napi_callback_info info);
napi_value AdamW(napi_env env, napi_callback_info info);
napi_value Rope(napi_env env, napi_callback_info info);
napi_value GeluForward(napi_env env, napi_callback_info info);
napi_value GeluBackward(napi_env env, napi_callback_info info);
napi_value RmsNormForward(napi_env env, napi_callback_info info);
napi_value RmsNormBackward(napi_env env, napi_callback_info info);
napi_value CrossEntropyForward(napi_env env, napi_callback_info info);
napi_value CrossEntropyBackward(napi_env env, napi_callback_info info);
napi_value CompactMatmul(napi_env env, napi_callback_info info);
napi_value CompactPath(napi_env env, napi_callback_info info);
napi_value CompactPaths(napi_env env, napi_callback_info info);
napi_value SetCompactPath(napi_env env, napi_callback_info info);
napi_value ReadSum(napi_env env, napi_callback_info info);
napi_value DecodeLayer(napi_env env, napi_callback_info info);
napi_value DecodeLayerProfile(napi_env env, napi_callback_info info);

}  // namespace dcf
