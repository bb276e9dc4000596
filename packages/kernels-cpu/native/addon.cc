// Entry point of the dcformer_cpu addon: registers the functions the JS kernels call.
#include "common.h"

namespace {
napi_value Init(napi_env env, napi_value exports) {
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
      {"adamW", nullptr, dcf::AdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyForward", nullptr, dcf::CrossEntropyForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"crossEntropyBackward", nullptr, dcf::CrossEntropyBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
