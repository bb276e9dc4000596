// cuBLAS loaded at run time (device build only): no cuBLAS at build time, and on the GPU machine it
// is only the pip wheel `nvidia-cublas` inside a Python venv (DESIGN.md "Backends").
#pragma once
#include <cstdint>
#include <string>

namespace dcf {
/** True once libcublas loaded and a handle was created; the first call tries (see cublasWhy). */
bool cublasReady();
/** Why cuBLAS is not in use ("" when it is). */
std::string cublasWhy();
std::string cublasGemm(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                       int64_t strideA, int64_t strideB);
}  // namespace dcf
