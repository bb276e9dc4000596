// Memory and status of the device the kernels run on, behind one small interface so that addon.cc
// and the driver compile unchanged for both builds: runtime-cuda.cu (cudart, device memory) and
// runtime-host.cc (the host build: malloc and memcpy stand in for the device).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dcf {

/** "" when kernels can run; otherwise why not (e.g. CUDA error 35: no driver). Cached after the first call. */
std::string deviceStatus();
/** 'device' or 'host': which build this is. */
const char* variant();
/** A line naming the device (GPU name and compute capability, or "host build (OpenMP, N threads)"). */
std::string deviceName();

// Each returns "" on success or the error, naming the call.
std::string deviceAlloc(void** ptr, size_t bytes);
void deviceFree(void* ptr);
std::string copyToDevice(void* dst, const void* src, size_t bytes);
std::string copyToHost(void* dst, const void* src, size_t bytes);
std::string deviceMemset0(void* ptr, size_t bytes);
std::string copyOnDevice(void* dst, const void* src, size_t bytes);
/** Waits for queued kernels; reports a launch or execution error of any of them. */
std::string deviceSync(const char* what);

/**
 * The GEMM entry: cuBLAS when the device build loaded it (cublas.cc), the tiled kernel otherwise.
 * Returns "" or the error. `gemmBackend()` names what runs: 'cublas', 'tiled'.
 */
std::string gemm(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                 int64_t strideA, int64_t strideB);
std::string gemmBackend();

}  // namespace dcf
