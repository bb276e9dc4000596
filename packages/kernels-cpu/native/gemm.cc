// Batched SGEMM through OpenBLAS cblas_sgemm, for the BatchMatMul / _FusedMatMul kernels.
// Works on the Float32Arrays that the tfjs cpu backend already holds: no copies in or out.
#include "common.h"
#include <cblas.h>
#include <omp.h>

namespace dcf {
namespace {

// c[M,N] = a[M,K]·b[N,K]ᵀ for a few rows (decode: one token per sequence against the vocabulary
// head). sgemm at M = 1 reached ~3 GB/s of weights here; each row of b is a contiguous dot product,
// so splitting N across threads and reading each row of b once for all M rows is bound by memory
// bandwidth instead.
void skinnyTransB(const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K) {
  // below ~1 M weights a parallel region's wake-up costs more than the product (0.5 ms vs 0.05 ms
  // for 768×256 on this machine)
#pragma omp parallel for schedule(static) if (N * K >= (1 << 20))
  for (int64_t n = 0; n < N; n++) {
    const float* bn = b + n * K;
    for (int64_t m = 0; m < M; m++) {
      const float* am = a + m * K;
      float acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < K; k++) acc += am[k] * bn[k];
      c[m * N + n] = acc;
    }
  }
}

}  // namespace

// gemm(a, b, c, batch, M, N, K, transA, transB, strideA, strideB)
//   c[i] = op(a[i·strideA]) · op(b[i·strideB]) for i < batch; c is [batch, M, N] row-major.
//   A stride of 0 broadcasts that operand over the batch.
napi_value Gemm(napi_env env, napi_callback_info info) {
  Args args(env, info, 11);
  float* a = args.f32(0);
  float* b = args.f32(1);
  float* c = args.f32(2);
  const int64_t batch = args.i64(3), M = args.i64(4), N = args.i64(5), K = args.i64(6);
  const bool ta = args.boolean(7), tb = args.boolean(8);
  const int64_t sa = args.i64(9), sb = args.i64(10);
  if (args.failed()) return nullptr;
  const CBLAS_TRANSPOSE opA = ta ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE opB = tb ? CblasTrans : CblasNoTrans;
  const int lda = ta ? M : K, ldb = tb ? K : N;
  if (batch == 1 && !ta && tb && M <= 8 && N * K >= (1 << 16)) {
    skinnyTransB(a, b, c, M, N, K);
    return nullptr;
  }
  // OpenBLAS runs single-threaded (see blasSingleThreaded): the threads are ours, from the one
  // OpenMP pool the other kernels use. Two pools on two cores fought: OpenBLAS's workers spin after
  // each call and halved the speed of the OpenMP loop that followed (Compose backward 53 → 26 ms per
  // step without them).
  const int threads = omp_get_max_threads();
  if (batch > 1) {
    // many products (attention heads, per-position weights): one per thread at a time
#pragma omp parallel for schedule(static) num_threads(threads) if (batch * M * N * K > 1 << 18)
    for (int64_t i = 0; i < batch; i++) {
      cblas_sgemm(CblasRowMajor, opA, opB, M, N, K, 1.0f, a + i * sa, lda, b + i * sb, ldb, 0.0f, c + i * M * N, N);
    }
    return nullptr;
  }
  if (threads == 1 || M * N * K < (1 << 18)) {
    cblas_sgemm(CblasRowMajor, opA, opB, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, N);
    return nullptr;
  }
  // one product: split the longer of M and N into one block per thread (multiples of 16)
  const bool byRows = M >= N;
  const int64_t len = byRows ? M : N;
  const int64_t block = ((len + threads - 1) / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t p = 0; p < threads; p++) {
    const int64_t lo = p * block, hi = lo + block < len ? lo + block : len;
    if (lo >= hi) continue;
    if (byRows) {
      // rows lo..hi of op(A): A's rows (no transpose) or columns (transposed)
      const float* ap = ta ? a + lo : a + lo * K;
      cblas_sgemm(CblasRowMajor, opA, opB, hi - lo, N, K, 1.0f, ap, lda, b, ldb, 0.0f, c + lo * N, N);
    } else {
      const float* bp = tb ? b + lo * K : b + lo;
      cblas_sgemm(CblasRowMajor, opA, opB, M, hi - lo, K, 1.0f, a, lda, bp, ldb, 0.0f, c + lo, N);
    }
  }
  return nullptr;
}

void blasSingleThreaded() {
  openblas_set_num_threads(1);
}

napi_value BlasInfo(napi_env env, napi_callback_info) {
  napi_value out;
  const char* cfg = openblas_get_config();
  napi_create_string_utf8(env, cfg ? cfg : "openblas", NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value SetBlasThreads(napi_env env, napi_callback_info info) {
  Args args(env, info, 1);
  const int64_t n = args.i64(0);
  if (args.failed()) return nullptr;
  openblas_set_num_threads(static_cast<int>(n));
  return nullptr;
}

}  // namespace dcf
