// Entry point of the dcformer_cpu addon: registers the functions the JS kernels call.
#include "common.h"
#include <malloc.h>
#include <cstdlib>
#include <cstring>

namespace {

// tfjs allocates a fresh Float32Array for every kernel output; glibc hands large blocks back to the
// kernel when freed (mmap, or trimming the heap top), so the next output of the same size page-faults
// its way through fresh zeroed pages: 3.4 ms vs 0.7 ms for a 6 MB multiply, ~25% of a training
// step. Keep freed memory in the heap for reuse instead. DCFORMER_MALLOC_TUNE=0 leaves glibc alone.
void tuneMalloc() {
  const char* opt = std::getenv("DCFORMER_MALLOC_TUNE");
  if (opt != nullptr && std::strcmp(opt, "0") == 0) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum: larger blocks are still mmapped
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

napi_value Init(napi_env env, napi_value exports) {
  tuneMalloc();
  dcf::blasSingleThreaded();
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, dcf::Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"blasInfo", nullptr, dcf::BlasInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setBlasThreads", nullptr, dcf::SetBlasThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, dcf::Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose", nullptr, dcf::Transpose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, dcf::Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmax", nullptr, dcf::Softmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduce", nullptr, dcf::Reduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"composeForward", nullptr, dcf::ComposeForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"composeBackward", nullptr, dcf::ComposeBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rmsNormForward", nullptr, dcf::RmsNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rmsNormBackward", nullptr, dcf::RmsNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"geluForward", nullptr, dcf::GeluForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"geluBackward", nullptr, dcf::GeluBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rope", nullptr, dcf::Rope, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamW", nullptr, dcf::AdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyForward", nullptr, dcf::CrossEntropyForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyBackward", nullptr, dcf::CrossEntropyBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
