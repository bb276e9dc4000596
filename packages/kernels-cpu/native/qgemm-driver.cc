// Compact matmul driver: path choice at load time (DCFORMER_QGEMM=avx512vnni|avx512|avx2vnni|avx2int|
// avx2|neon|portable forces one) and the split of N over OpenMP's threads. No Node here:
// test/qgemm-check.cc links it alone.
#include <omp.h>
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>
#include "gemm-pool.h"
#include "qgemm.h"

namespace dcf::qgemm {
namespace {

const Path* chosen = nullptr;

const Path* initial() {
  const Path* all[kMaxPaths];
  const int n = runnablePaths(all, kMaxPaths);
  const char* want = std::getenv("DCFORMER_QGEMM");
  if (want != nullptr)
    for (int i = 0; i < n; i++)
      if (std::strcmp(all[i]->name, want) == 0) return all[i];
  return all[0];  // portable is always there
}

}  // namespace

int runnablePaths(const Path** out, int max) {
  int n = 0;
  for (const Path* p : {avx512VnniPath(), avx512Path(), avx2VnniPath(), avx2IntPath(), avx2Path(), neonPath(), portablePath()})
    if (p != nullptr && n < max) out[n++] = p;
  return n;
}

const Path& currentPath() {
  if (chosen == nullptr) chosen = initial();
  return *chosen;
}

bool setPath(const char* name) {
  const Path* all[kMaxPaths];
  const int n = runnablePaths(all, kMaxPaths);
  for (int i = 0; i < n; i++) {
    if (std::strcmp(all[i]->name, name) == 0) {
      chosen = all[i];
      return true;
    }
  }
  return false;
}

void run(const Problem& given) {
  const Path& path = currentPath();
  Problem p = given;
  // decode of int8/int4: x once in the order the path's decoder reads weights (64-byte aligned)
  std::vector<float> arranged;
  if (path.arrange != nullptr && p.M <= kFusedRows && p.format >= kInt8) {
    arranged.resize(static_cast<size_t>(p.M * p.K + 16));
    float* xp = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(arranged.data()) + 63) & ~uintptr_t(63));
    if (path.arrange(p, xp)) p.xp = xp;
  }
  const bool tiled = p.M > kFusedRows;
  // Below ~32k weights the threads' start-up costs more than the product.
  const int threads = p.N * p.K >= (1 << 15) ? omp_get_max_threads() : 1;
  // Chunks of whole tiles, ~8 per thread, handed out dynamically: each chunk is still a contiguous
  // stream of W, and a thread the OS preempts (other processes on the cores) does not hold up the
  // rest — with one static range per thread, the call took as long as its slowest thread (2× slower
  // than one thread on a busy 2-core machine).
  const int64_t chunk = std::max<int64_t>(
      kTileRows, ((p.N + 8 * threads - 1) / (8 * threads) + kTileRows - 1) / kTileRows * kTileRows);
  const int64_t chunks = (p.N + chunk - 1) / chunk;
  if (!tiled && Pool::enabled()) {  // decode: the caller-runs pool (no scratch)
    struct Ctx {
      const Path* path;
      const Problem* p;
      int64_t chunk;
    } ctx{&path, &p, chunk};
    Pool::get().run(
        [](const void* c, int64_t i) {
          const Ctx& x = *static_cast<const Ctx*>(c);
          const int64_t n0 = i * x.chunk, n1 = std::min(n0 + x.chunk, x.p->N);
          x.path->rows(*x.p, n0, n1, nullptr);
        },
        &ctx, chunks, threads);
    return;
  }
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<float> scratch(tiled ? static_cast<size_t>(kTileRows * p.K) : 0);
#pragma omp for schedule(dynamic, 1)
    for (int64_t c = 0; c < chunks; c++) {
      const int64_t n0 = c * chunk, n1 = std::min(n0 + chunk, p.N);
      path.rows(p, n0, n1, scratch.data());
    }
  }
}

}  // namespace dcf::qgemm
