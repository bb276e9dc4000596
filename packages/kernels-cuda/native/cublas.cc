// UNTESTED-BEFORE-GPU. dlopen of libcublas, trying in order: $DCF_CUBLAS (a file), then the sonames of
// CUDA 13 and 12 on the loader path (LD_LIBRARY_PATH; scripts/gpu-check.sh adds the venv's
// nvidia/cublas/lib). DCF_CUBLAS=0 keeps the tiled kernel. The few entry points are declared here
// by their C ABI, so no cuBLAS header is needed to build.
#include "cublas.h"
#include <dlfcn.h>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace dcf {
namespace {

using Handle = void*;
using CreateFn = int (*)(Handle*);
// cublasSgemmStridedBatched(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch)
using SgemmBatchedFn = int (*)(Handle, int, int, int, int, int, const float*, const float*, int, long long, const float*, int, long long,
                               const float*, float*, int, long long, int);
constexpr int kOpN = 0, kOpT = 1;

struct Cublas {
  Handle handle = nullptr;
  SgemmBatchedFn sgemm = nullptr;
  std::string why;
};

Cublas& state() {
  static Cublas s;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("DCF_CUBLAS");
    if (env != nullptr && std::strcmp(env, "0") == 0) {
      s.why = "disabled by DCF_CUBLAS=0";
      return;
    }
    void* lib = nullptr;
    std::string tried;
    for (const char* name : {env, "libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
      if (name == nullptr) continue;
      lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (lib != nullptr) break;
      tried += std::string(tried.empty() ? "" : "; ") + dlerror();
    }
    if (lib == nullptr) {
      s.why = "libcublas not found (" + tried + ")";
      return;
    }
    auto create = reinterpret_cast<CreateFn>(dlsym(lib, "cublasCreate_v2"));
    s.sgemm = reinterpret_cast<SgemmBatchedFn>(dlsym(lib, "cublasSgemmStridedBatched"));
    if (create == nullptr || s.sgemm == nullptr) {
      s.why = "libcublas lacks cublasCreate_v2 or cublasSgemmStridedBatched";
      s.sgemm = nullptr;
      return;
    }
    const int status = create(&s.handle);
    if (status != 0) {
      s.why = "cublasCreate_v2 returned status " + std::to_string(status);
      s.sgemm = nullptr;
    }
  });
  return s;
}

}  // namespace

bool cublasReady() { return state().sgemm != nullptr; }
std::string cublasWhy() { return state().why; }

// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: hand cuBLAS B first, with the
// leading dimensions of the row-major storage.
std::string cublasGemm(const float* a, const float* b, float* c, int64_t batch, int64_t M, int64_t N, int64_t K, bool transA, bool transB,
                       int64_t strideA, int64_t strideB) {
  const Cublas& s = state();
  const float one = 1.0f, zero = 0.0f;
  const int lda = static_cast<int>(transA ? M : K), ldb = static_cast<int>(transB ? K : N);
  const int status = s.sgemm(s.handle, transB ? kOpT : kOpN, transA ? kOpT : kOpN, static_cast<int>(N), static_cast<int>(M),
                             static_cast<int>(K), &one, b, ldb, strideB, a, lda, strideA, &zero, c, static_cast<int>(N), M * N,
                             static_cast<int>(batch));
  return status == 0 ? "" : "cublasSgemmStridedBatched returned status " + std::to_string(status);
}

}  // namespace dcf
