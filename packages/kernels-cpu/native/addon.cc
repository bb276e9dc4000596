// Entry point of the dcformer_cpu addon: registers the functions the JS kernels call.
#include "attention.h"
#include "common.h"
#include <malloc.h>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

// tfjs allocates a fresh array for every kernel output; glibc hands large blocks back to the kernel
// when freed (mmap for blocks over 32 MB, or trimming the heap top), so the next output of that size
// page-faults its way through fresh zeroed pages: 3.4 ms vs 0.7 ms for a 6 MB multiply, and on
// bench-small ~210,000 faults (the 412 MB logits and their gradient) and ~350 ms of system time per
// training step. Keep every block in the heap for reuse instead (7,000 faults per step after the
// first). The process keeps its peak heap. DCFORMER_MALLOC_TUNE=0 leaves glibc alone.
void tuneMalloc() {
  const char* opt = std::getenv("DCFORMER_MALLOC_TUNE");
  if (opt != nullptr && std::strcmp(opt, "0") == 0) return;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

// The kernels other than the GEMM are compiled for the build machine's vector level
// (DCF_TARGET_LEVEL, set by scripts/build-native.mjs). A build copied to an older CPU refuses to
// load, with the reason, instead of dying on an illegal instruction.
std::string unsupportedTarget() {
#if defined(__x86_64__) && defined(DCF_TARGET_LEVEL)
  if (!__builtin_cpu_supports(DCF_TARGET_LEVEL))
    return std::string("built for ") + DCF_TARGET_LEVEL + ", which this CPU lacks; rebuild here with `npx dcformer-kernels-cpu`";
#endif
  return "";
}

napi_value Init(napi_env env, napi_value exports) {
  for (const std::string& why : {unsupportedTarget(), dcf::initGemm()}) {
    if (!why.empty()) {
      napi_throw_error(env, nullptr, ("dcformer_cpu: " + why).c_str());
      return nullptr;
    }
  }
  tuneMalloc();
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, dcf::Gemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmPath", nullptr, dcf::GemmPath, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmPaths", nullptr, dcf::GemmPaths, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setGemmPath", nullptr, dcf::SetGemmPath, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binary", nullptr, dcf::Binary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"transpose", nullptr, dcf::Transpose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, dcf::Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"softmax", nullptr, dcf::Softmax, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduce", nullptr, dcf::Reduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"composeForward", nullptr, dcf::ComposeForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"composeBackward", nullptr, dcf::ComposeBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attentionForward", nullptr, dcf::AttentionForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attentionBackward", nullptr, dcf::AttentionBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attentionPath", nullptr, dcf::AttentionPathName, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rmsNormForward", nullptr, dcf::RmsNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rmsNormBackward", nullptr, dcf::RmsNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"geluForward", nullptr, dcf::GeluForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"geluBackward", nullptr, dcf::GeluBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rope", nullptr, dcf::Rope, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamW", nullptr, dcf::AdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyForward", nullptr, dcf::CrossEntropyForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyBackward", nullptr, dcf::CrossEntropyBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"compactMatmul", nullptr, dcf::CompactMatmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"compactPath", nullptr, dcf::CompactPath, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"compactPaths", nullptr, dcf::CompactPaths, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setCompactPath", nullptr, dcf::SetCompactPath, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"readSum", nullptr, dcf::ReadSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"decodeLayer", nullptr, dcf::DecodeLayer, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"decodeLayerProfile", nullptr, dcf::DecodeLayerProfile, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
