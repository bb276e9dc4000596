// N-API entry points of the fused DCMHA attention kernels (attention.cc).
#pragma once
#include <node_api.h>

namespace dcf {
napi_value AttentionForward(napi_env env, napi_callback_info info);
napi_value AttentionBackward(napi_env env, napi_callback_info info);
napi_value AttentionPathName(napi_env env, napi_callback_info info);
}  // namespace dcf
