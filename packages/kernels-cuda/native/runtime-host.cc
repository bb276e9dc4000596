// The host build's stand-in for the device: memory is malloc'd, copies are memcpy, and kernels have
// already finished when their launcher returns (OpenMP loops). Keeping the copies (rather than
// passing the caller's arrays straight through) runs addon.cc exactly as the device build does.
#include <omp.h>
#include <cstdlib>
#include <cstring>
#include "kernels.h"
#include "runtime.h"

namespace dcf {

std::string deviceStatus() { return ""; }
const char* variant() { return "host"; }
std::string deviceName() { return "host build (OpenMP, " + std::to_string(omp_get_max_threads()) + " threads)"; }

std::string deviceAlloc(void** ptr, size_t bytes) {
  *ptr = std::malloc(bytes > 0 ? bytes : 1);
  return *ptr != nullptr ? "" : "malloc(" + std::to_string(bytes) + ") failed";
}
void deviceFree(void* ptr) { std::free(ptr); }
std::string copyToDevice(void* dst, const void* src, size_t bytes) {
  if (bytes > 0) std::memcpy(dst, src, bytes);
  return "";
}
std::string copyToHost(void* dst, const void* src, size_t bytes) {
  if (bytes > 0) std::memcpy(dst, src, bytes);
  return "";
}
std::string deviceMemset0(void* ptr, size_t bytes) {
  if (bytes > 0) std::memset(ptr, 0, bytes);
  return "";
}
std::string copyOnDevice(void* dst, const void* src, size_t bytes) {
  if (bytes > 0) std::memmove(dst, src, bytes);
  return "";
}
std::string deviceSync(const char*) { return ""; }

std::string gemm(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                 int64_t strideA, int64_t strideB) {
  gemmTiled(a, b, c, batch, M, N, K, transA, transB, strideA, strideB);
  return "";
}
std::string gemmBackend() { return "tiled"; }

}  // namespace dcf
