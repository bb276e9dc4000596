// BatchMatMul entry points: our GEMM (gemm-driver.cc) on the fastest path this CPU runs, chosen at
// load time; DCFORMER_GEMM=avx512|avx2|neon|portable forces one (tests run every path the host
// has). `openblas` is a benchmark peer only: libopenblas.so.0 loaded with dlopen when asked for,
// never linked, never the default.
#include <dlfcn.h>
#include <omp.h>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include "common.h"
#include "gemm.h"

namespace dcf {
namespace {

// OpenBLAS through dlopen: the old fast path, kept to measure ourselves against. The products are
// split across our OpenMP threads with OpenBLAS single-threaded, as the addon used it.
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using SetThreadsFn = void (*)(int);
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;

struct OpenBlas {
  SgemmFn sgemm = nullptr;
  std::string why;
};

const OpenBlas& openBlas() {
  static const OpenBlas lib = [] {
    OpenBlas o;
    void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) h = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      o.why = "libopenblas.so.0 not found";
      return o;
    }
    o.sgemm = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
    auto setThreads = reinterpret_cast<SetThreadsFn>(dlsym(h, "openblas_set_num_threads"));
    if (o.sgemm == nullptr) o.why = "libopenblas.so.0 has no cblas_sgemm";
    if (setThreads != nullptr) setThreads(1);
    return o;
  }();
  return lib;
}

void openBlasRun(const gemm::Problem& p) {
  const SgemmFn sgemm = openBlas().sgemm;
  const int opA = p.ta ? kTrans : kNoTrans, opB = p.tb ? kTrans : kNoTrans;
  const int M = static_cast<int>(p.M), N = static_cast<int>(p.N), K = static_cast<int>(p.K);
  const int lda = p.ta ? M : K, ldb = p.tb ? K : N;
  const int threads = omp_get_max_threads();
  if (p.batch > 1) {
#pragma omp parallel for schedule(static) if (p.batch * p.M * p.N * p.K > 1 << 18)
    for (int64_t i = 0; i < p.batch; i++)
      sgemm(kRowMajor, opA, opB, M, N, K, 1.0f, p.a + i * p.strideA, lda, p.b + i * p.strideB, ldb, 0.0f, p.c + i * p.M * p.N, N);
    return;
  }
  if (threads == 1 || p.M * p.N * p.K < (1 << 18)) {
    sgemm(kRowMajor, opA, opB, M, N, K, 1.0f, p.a, lda, p.b, ldb, 0.0f, p.c, N);
    return;
  }
  const bool byRows = M >= N;
  const int len = byRows ? M : N;
  const int block = ((len + threads - 1) / threads + 15) / 16 * 16;
#pragma omp parallel for schedule(static)
  for (int t = 0; t < threads; t++) {
    const int lo = t * block, hi = lo + block < len ? lo + block : len;
    if (lo >= hi) continue;
    if (byRows)
      sgemm(kRowMajor, opA, opB, hi - lo, N, K, 1.0f, p.ta ? p.a + lo : p.a + static_cast<int64_t>(lo) * K, lda, p.b, ldb, 0.0f,
            p.c + static_cast<int64_t>(lo) * N, N);
    else
      sgemm(kRowMajor, opA, opB, M, hi - lo, K, 1.0f, p.a, lda, p.tb ? p.b + static_cast<int64_t>(lo) * K : p.b + lo, ldb, 0.0f,
            p.c + lo, N);
  }
}

// Every path this build and this CPU can run, fastest first.
std::vector<const gemm::Path*> runnable() {
  std::vector<const gemm::Path*> out;
  for (const gemm::Path* p : {gemm::avx512Path(), gemm::avx2Path(), gemm::neonPath(), gemm::portablePath()})
    if (p != nullptr) out.push_back(p);
  return out;
}

const gemm::Path* current = nullptr;  // nullptr with useOpenBlas: the peer
bool useOpenBlas = false;

std::string names() {
  std::string s;
  for (const gemm::Path* p : runnable()) s += (s.empty() ? "" : ", ") + std::string(p->name);
  return s + (openBlas().sgemm != nullptr ? ", openblas" : "");
}

// Selects a path by name; an empty string on success, else why not.
std::string select(const std::string& name) {
  if (name == "openblas") {
    if (openBlas().sgemm == nullptr) return "openblas: " + openBlas().why;
    useOpenBlas = true;
    return "";
  }
  for (const gemm::Path* p : runnable()) {
    if (name == p->name) {
      current = p;
      useOpenBlas = false;
      return "";
    }
  }
  return "'" + name + "' cannot run here (available: " + names() + ")";
}

}  // namespace

namespace gemm {
void runCurrent(const Problem& p) {
  // the peer keeps the addon's own decode path, as the OpenBLAS build did
  if (useOpenBlas && !skinny(p)) openBlasRun(p);
  else run(*current, p);
}
}  // namespace gemm

std::string initGemm() {
  current = runnable().front();
  const char* forced = std::getenv("DCFORMER_GEMM");
  if (forced == nullptr || forced[0] == '\0') return "";
  const std::string why = select(forced);
  return why.empty() ? "" : "DCFORMER_GEMM=" + why;
}

// gemm(a, b, c, batch, M, N, K, transA, transB, strideA, strideB): see gemm::Problem
napi_value Gemm(napi_env env, napi_callback_info info) {
  Args args(env, info, 11);
  gemm::Problem p{args.f32(0), args.f32(1), args.f32(2), args.i64(3), args.i64(4), args.i64(5), args.i64(6),
                  args.boolean(7), args.boolean(8), args.i64(9), args.i64(10)};
  if (args.failed()) return nullptr;
  gemm::runCurrent(p);
  return nullptr;
}

// gemmPath() → the running path's name; gemmPaths() → every path that can run here
napi_value GemmPath(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_string_utf8(env, useOpenBlas ? "openblas" : current->name, NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value GemmPaths(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_array(env, &out);
  uint32_t i = 0;
  for (const gemm::Path* p : runnable()) {
    napi_value s;
    napi_create_string_utf8(env, p->name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, out, i++, s);
  }
  if (openBlas().sgemm != nullptr) {
    napi_value s;
    napi_create_string_utf8(env, "openblas", NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, out, i++, s);
  }
  return out;
}

// setGemmPath(name): throws an Error naming the paths that can run here when `name` is not one
napi_value SetGemmPath(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char buf[64] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], buf, sizeof buf, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "dcformer_cpu: setGemmPath(name) needs a path name string");
    return nullptr;
  }
  const std::string why = select(buf);
  if (!why.empty()) napi_throw_error(env, nullptr, ("dcformer_cpu: setGemmPath: " + why).c_str());
  return nullptr;
}

}  // namespace dcf
