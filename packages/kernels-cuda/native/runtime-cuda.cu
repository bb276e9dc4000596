// The device build's runtime: cudart (linked statically, so the addon needs only the driver),
// device memory, and the GEMM choice. Without a driver or GPU every entry reports why instead of
// crashing: cudaGetDeviceCount returns e.g. error 35 (cudaErrorInsufficientDriver) and deviceStatus
// says so; addon.cc checks deviceStatus before any allocation.
#include <cuda_runtime.h>
#include "cublas.h"
#include "kernels.h"
#include "runtime.h"

namespace dcf {
namespace {

std::string cudaWhy(const char* call, cudaError_t e) {
  return std::string(call) + ": CUDA error " + std::to_string(static_cast<int>(e)) + " (" + cudaGetErrorName(e) + "): " + cudaGetErrorString(e);
}

}  // namespace

std::string deviceStatus() {
  static const std::string status = [] {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) return cudaWhy("cudaGetDeviceCount", e);
    if (count == 0) return std::string("no CUDA device");
    return std::string();
  }();
  return status;
}

const char* variant() { return "device"; }

std::string deviceName() {
  const std::string why = deviceStatus();
  if (!why.empty()) return "no device (" + why + ")";
  int dev = 0;
  cudaGetDevice(&dev);
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, dev) != cudaSuccess) return "device " + std::to_string(dev);
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.totalGlobalMem >> 20) + " MiB)";
}

std::string deviceAlloc(void** ptr, size_t bytes) {
  const cudaError_t e = cudaMalloc(ptr, bytes > 0 ? bytes : 1);
  return e == cudaSuccess ? "" : cudaWhy("cudaMalloc", e);
}
void deviceFree(void* ptr) { cudaFree(ptr); }
std::string copyToDevice(void* dst, const void* src, size_t bytes) {
  const cudaError_t e = bytes > 0 ? cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice) : cudaSuccess;
  return e == cudaSuccess ? "" : cudaWhy("cudaMemcpy (to device)", e);
}
std::string copyToHost(void* dst, const void* src, size_t bytes) {
  const cudaError_t e = bytes > 0 ? cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost) : cudaSuccess;
  return e == cudaSuccess ? "" : cudaWhy("cudaMemcpy (to host)", e);
}
std::string deviceMemset0(void* ptr, size_t bytes) {
  const cudaError_t e = bytes > 0 ? cudaMemset(ptr, 0, bytes) : cudaSuccess;
  return e == cudaSuccess ? "" : cudaWhy("cudaMemset", e);
}
std::string copyOnDevice(void* dst, const void* src, size_t bytes) {
  const cudaError_t e = bytes > 0 ? cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice) : cudaSuccess;
  return e == cudaSuccess ? "" : cudaWhy("cudaMemcpy (on device)", e);
}
std::string deviceSync(const char* what) {
  // a bad launch (shape, resources) shows here first; an execution error at the synchronisation
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  return e == cudaSuccess ? "" : cudaWhy(what, e);
}

std::string gemm(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                 int64_t strideA, int64_t strideB) {
  if (cublasReady()) return cublasGemm(a, b, c, batch, M, N, K, transA, transB, strideA, strideB);
  gemmTiled(a, b, c, batch, M, N, K, transA, transB, strideA, strideB);
  return "";
}

std::string gemmBackend() { return cublasReady() ? "cublas" : "tiled"; }

}  // namespace dcf
