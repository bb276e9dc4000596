// The argument handling every N-API entry point shares (addon.cc, addon-ops.cc): numbers and
// booleans, typed arrays copied to device memory and back, or device buffer handles (buffers.h) used
// in place, and errors remembered (first one wins) and thrown by finish() with a code for JS.
#pragma once
#include <node_api.h>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>
#include "buffers.h"
#include "runtime.h"

namespace dcf {

constexpr size_t kMaxArgs = 24;

// One call's arguments and device buffers. Errors are remembered (first one wins) and thrown by
// finish(), after the buffers are freed by the destructor's order of events.
class Call {
 public:
  Call(napi_env env, napi_callback_info info, const char* fn, size_t count) : env_(env), fn_(fn), argc_(kMaxArgs) {
    napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr);
    if (argc_ < count) fail("shape", "expected " + std::to_string(count) + " arguments, got " + std::to_string(argc_));
  }
  ~Call() {
    for (void* p : owned_) deviceFree(p);
  }

  // sizes must be ≥ 0; band offsets (signedOk) may be negative
  int64_t i64(size_t i, const char* name, bool signedOk = false) {
    int64_t v = 0;
    if (!failed() && napi_get_value_int64(env_, argv_[i], &v) != napi_ok) fail("shape", std::string("'") + name + "' must be a number");
    if (!failed() && v < 0 && !signedOk) fail("shape", std::string("'") + name + "' must be ≥ 0; got " + std::to_string(v));
    return v;
  }
  double f64(size_t i, const char* name) {
    double v = 0;
    if (!failed() && napi_get_value_double(env_, argv_[i], &v) != napi_ok) fail("shape", std::string("'") + name + "' must be a number");
    return v;
  }
  bool boolean(size_t i, const char* name) {
    bool v = false;
    if (!failed() && napi_get_value_bool(env_, argv_[i], &v) != napi_ok) fail("shape", std::string("'") + name + "' must be a boolean");
    return v;
  }
  bool isNull(size_t i) {
    napi_valuetype t = napi_undefined;
    napi_typeof(env_, argv_[i], &t);
    return t == napi_null || t == napi_undefined;
  }

  /** Input i (at least `need` elements) copied to the device; null when absent and `optional`. */
  bool isHandle(size_t i) {
    napi_valuetype t = napi_undefined;
    napi_typeof(env_, argv_[i], &t);
    return t == napi_number;
  }

  /** The device memory of buffer handle i (at least `bytes`), or null after failing with why. */
  void* buffer(size_t i, const char* name, int64_t bytes) {
    if (!ready()) return nullptr;
    int64_t handle = 0;
    napi_get_value_int64(env_, argv_[i], &handle);
    const DeviceBuffer* b = findBuffer(handle);
    if (b == nullptr) {
      fail("input", std::string("'") + name + "' is not a live device buffer (handle " + std::to_string(handle) + ")");
      return nullptr;
    }
    if (bytes < 0 || static_cast<size_t>(bytes) > b->bytes) {
      fail("shape", std::string("'") + name + "' (device buffer " + std::to_string(handle) + ") holds " + std::to_string(b->bytes) +
                        " bytes; needs " + std::to_string(bytes));
      return nullptr;
    }
    return b->ptr;
  }

  /**
   * Input i (at least `need` elements): a typed array, copied to the device, or a device buffer
   * handle, used in place. Null when absent and `optional`.
   */
  template <typename T>
  const T* in(size_t i, const char* name, int64_t need, bool optional = false) {
    if (optional && isNull(i)) return nullptr;
    if (isHandle(i)) return static_cast<const T*>(buffer(i, name, need * static_cast<int64_t>(sizeof(T))));
    T* host = hostArray<T>(i, name, need);
    return static_cast<const T*>(upload(host, need * sizeof(T)));
  }
  /** Output i: a typed array (device memory now, copied back by finish()) or a device buffer handle written in place. */
  float* out(size_t i, const char* name, int64_t need, bool optional = false) {
    if (optional && isNull(i)) return nullptr;
    if (isHandle(i)) return static_cast<float*>(buffer(i, name, need * static_cast<int64_t>(sizeof(float))));
    float* host = hostArray<float>(i, name, need);
    void* dev = alloc(need * sizeof(float));
    if (dev != nullptr) outputs_.push_back({host, dev, need * sizeof(float)});
    return static_cast<float*>(dev);
  }
  /** Device scratch the caller never sees. */
  float* scratch(int64_t n) { return static_cast<float*>(alloc(n * sizeof(float))); }

  napi_value arg(size_t i) const { return argv_[i]; }
  const napi_value* args() const { return argv_; }

  bool failed() const { return !error_.empty(); }
  /** Ready to launch: arguments fine and a device present. */
  bool ready() {
    if (failed()) return false;
    const std::string why = deviceStatus();
    if (!why.empty()) fail("kernel", "no usable CUDA device: " + why);
    return !failed();
  }
  void check(const std::string& err) {
    if (!err.empty()) fail("kernel", err);
  }
  /** kind: the error's code, 'shape' | 'input' | 'kernel'. */
  void fail(const char* kind, const std::string& msg) {
    if (error_.empty()) error_ = msg, kind_ = kind;
  }

  /** Waits for the kernels, copies the outputs back, and throws any error. */
  napi_value finish() {
    if (!failed()) check(deviceSync(fn_));
    for (const auto& o : outputs_)
      if (!failed()) check(copyToHost(o.host, o.dev, o.bytes));
    if (failed()) {
      // the code tells the JS side which typed error of @dcformer/kernels to throw (src/native.ts)
      const std::string msg = std::string("dcformer_cuda.") + fn_ + ": " + error_;
      napi_throw_error(env_, kind_.c_str(), msg.c_str());
    }
    return nullptr;
  }

  template <typename T>
  T* hostArray(size_t i, const char* name, int64_t need) {
    if (failed()) return nullptr;
    constexpr napi_typedarray_type want = std::is_same<T, float>::value ? napi_float32_array : napi_int32_array;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value buffer;
    size_t offset;
    if (napi_get_typedarray_info(env_, argv_[i], &type, &length, &data, &buffer, &offset) != napi_ok || type != want) {
      fail("shape", std::string("'") + name + "' must be " + (want == napi_float32_array ? "a Float32Array" : "an Int32Array"));
      return nullptr;
    }
    if (static_cast<int64_t>(length) < need) {
      fail("shape", std::string("'") + name + "' must hold " + std::to_string(need) + " elements; got " + std::to_string(length));
      return nullptr;
    }
    return static_cast<T*>(data);
  }
 private:
  void* alloc(size_t bytes) {
    if (!ready()) return nullptr;
    void* p = nullptr;
    check(deviceAlloc(&p, bytes));
    if (p != nullptr) owned_.push_back(p);
    return failed() ? nullptr : p;
  }
  void* upload(const void* host, size_t bytes) {
    void* dev = alloc(bytes);
    if (dev != nullptr) check(copyToDevice(dev, host, bytes));
    return dev;
  }

  struct Output {
    void* host;
    void* dev;
    size_t bytes;
  };
  napi_env env_;
  const char* fn_;
  size_t argc_;
  napi_value argv_[kMaxArgs];
  std::vector<void*> owned_;
  std::vector<Output> outputs_;
  std::string error_, kind_;
};

inline napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

}  // namespace dcf
